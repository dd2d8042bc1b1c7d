"""The composition root: builds every service from one settings object and wires them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import structlog
from aiohttp import web

from bot.adapters.base import Adapter, StreamingHandler
from bot.adapters.web.chat import WebChatChannel
from bot.adapters.web.rest import RestChannel
from bot.admin import AdminCommands
from bot.dialogue.actions import DialogueActions
from bot.dialogue.intents import load_intent_classifier
from bot.dialogue.shop import catalogue_for, list_products, seed_demo_shop
from bot.dialogue.understanding import Understander
from bot.feedback.service import FeedbackService
from bot.handoff import HandoffService
from bot.handoff import install as install_handoff
from bot.logs import configure_logging
from bot.observability import api_docs_routes, metrics_routes
from bot.pipeline import Pipeline
from core.errors import AdapterError
from core.llm import ChatBackend, make_backend
from core.settings import KefuSettings
from core.storage import ConversationStore, Database
from core.telemetry import GaugeSources, LLMCallStore, record_llm_calls
from core.types import ConversationKey, IncomingMessage, OutgoingMessage, utcnow
from knowledge.base import KnowledgeBase
from knowledge.embeddings import make_embedder
from knowledge.query_cache import CachedQueryEmbedder

log = structlog.get_logger(__name__)


@dataclass
class Kefu:
    """One running bot: storage, knowledge, pipeline and the channels that reach customers."""

    settings: KefuSettings
    db: Database
    store: ConversationStore
    knowledge: KnowledgeBase
    understander: Understander | None = None
    llm: ChatBackend | None = None
    admin: AdminCommands = field(init=False)
    handoff: HandoffService = field(init=False)
    feedback: FeedbackService = field(init=False)
    pipeline: Pipeline = field(init=False)
    adapters: dict[str, Adapter] = field(default_factory=dict)
    gauges: GaugeSources = field(default_factory=GaugeSources)
    """Scrape-time sources of /metrics; the outbox is wired with ``set_outbox_source``."""

    def __post_init__(self) -> None:
        self.admin = AdminCommands(self.knowledge, self.deliver)
        self.handoff = install_handoff(self)
        self.feedback = FeedbackService(
            self.settings.feedback, self.store, self.db, self.knowledge.add_faq
        )
        self.gauges.watch(self.handoff.queue.waiting, self.knowledge.stats)
        self.pipeline = Pipeline(
            self.settings,
            self.store,
            self.knowledge,
            self.admin,
            handoff=self.handoff,
            feedback=self.feedback,
            understander=self.understander,
            dialogue=self._dialogue_actions(),
            llm=self.llm,
        )

    def _dialogue_actions(self) -> DialogueActions | None:
        if self.understander is None or self.understander.classifier.catalog is None:
            return None
        return DialogueActions(
            self.settings.dialogue,
            self.db,
            self.store,
            self.understander.classifier.catalog.required_slots(),
            utcnow,
            llm=self.llm,
        )

    @classmethod
    async def create(cls, settings: KefuSettings, *, configure_logs: bool = True) -> Kefu:
        """Opens the database (applying migrations) and the knowledge base.

        The bundled or configured knowledge sources are ingested on first start, when the
        index is empty.
        """
        if configure_logs:
            configure_logging(settings.logging)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.database_url)
        await db.upgrade()
        embedder = CachedQueryEmbedder(make_embedder(settings.knowledge))
        knowledge = await asyncio.to_thread(
            KnowledgeBase.open, settings.knowledge, settings.data_dir, embedder
        )
        if await asyncio.to_thread(knowledge.is_empty):
            log.info(
                "kb.first_start.ingesting", sources=[str(p) for p in settings.knowledge.source_dirs]
            )
            report = await asyncio.to_thread(knowledge.reload)
            log.info("kb.first_start.ingested", chunks=report.chunks, failed=len(report.failed))
        understander = await build_understander(settings, db, knowledge)
        llm = record_llm_calls(make_backend(settings.llm), LLMCallStore(db).add)
        app = cls(settings, db, ConversationStore(db), knowledge, understander, llm)
        app.add_adapter(RestChannel(app.pipeline.handle))
        app.add_adapter(WebChatChannel(app.pipeline.handle))
        for adapter in platform_adapters(settings, app.pipeline.handle):
            app.add_adapter(adapter)
        return app

    def add_adapter(self, adapter: Adapter) -> None:
        self.adapters[adapter.platform] = adapter

    async def handle(self, message: IncomingMessage) -> list[OutgoingMessage]:
        return await self.pipeline.handle(message)

    async def deliver(self, key: ConversationKey, message: OutgoingMessage) -> None:
        """Sends ``message`` to a conversation later, on the customer's own platform.

        Raises:
            AdapterError: when no adapter serves the conversation's platform.
        """
        adapter = self.adapters.get(key.platform)
        if adapter is None:
            raise AdapterError(f"no channel is running for platform {key.platform!r}")
        await adapter.send(key, message)

    def web_app(self) -> web.Application:
        """The one aiohttp server that mounts every channel's routes."""
        app = web.Application(client_max_size=self.settings.server.max_request_bytes)
        routes: list[web.RouteDef] = []
        for adapter in self.adapters.values():
            routes.extend(adapter.routes())
        app.add_routes(routes)
        app.add_routes(self.handoff.routes())
        app.add_routes(self.feedback.routes())
        app.on_shutdown.append(self._disconnect_agents)
        app.router.add_get("/healthz", _health)
        app.add_routes(metrics_routes(self.settings.metrics, self.gauges))
        app.add_routes(api_docs_routes())
        return app

    async def start_adapters(self) -> None:
        for adapter in self.adapters.values():
            await adapter.start()
        await self.handoff.start()

    async def _disconnect_agents(self, app: web.Application) -> None:
        await self.handoff.disconnect_agents()

    async def close(self) -> None:
        await self.admin.wait_for_reload()
        await self.handoff.close()
        if self.llm is not None:
            await self.llm.close()
        for adapter in self.adapters.values():
            await adapter.stop()
        await self.db.dispose()


async def build_understander(
    settings: KefuSettings, db: Database, knowledge: KnowledgeBase
) -> Understander:
    """Seeds the demo shop when asked and loads (or trains once) the intent classifier."""
    if settings.dialogue.seed_demo_shop:
        await seed_demo_shop(db)
    catalogue = catalogue_for(await list_products(db))
    classifier = await asyncio.to_thread(
        load_intent_classifier,
        settings.dialogue.intents_file,
        knowledge.embedder.embed_queries,
        embedder_name=knowledge.embedder.name,
        cache_dir=settings.data_dir / "models",
        threshold=settings.dialogue.oos_threshold,
    )
    return Understander(
        classifier, catalogue, lambda: utcnow().date(), settings.dialogue.frustration_threshold
    )


def platform_adapters(settings: KefuSettings, handler: StreamingHandler) -> list[Adapter]:
    """The enabled platform channels; each SDK is imported only when its channel is on."""
    adapters: list[Adapter] = []
    if settings.telegram.enabled:
        from bot.adapters.telegram import TelegramAdapter

        adapters.append(TelegramAdapter(settings.telegram, handler))
    if settings.discord.enabled:
        from bot.adapters.discord import DiscordAdapter

        adapters.append(DiscordAdapter(settings.discord, handler))
    if settings.wecom.enabled:
        from bot.adapters.wecom import WeComAdapter

        adapters.append(WeComAdapter(settings.wecom, handler))
    return adapters


async def _health(request: web.Request) -> web.Response:
    """Liveness: 200 {"status": "ok"} while the process answers."""
    return web.json_response({"status": "ok"})
