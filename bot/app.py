"""The composition root: builds every service from one settings object and wires them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from aiohttp import web

from bot.adapters.base import Adapter, Runner
from bot.adapters.web.chat import WebChatChannel
from bot.adapters.web.identity import customer_identity
from bot.adapters.web.origins import OriginPolicy
from bot.adapters.web.rest import RestChannel
from bot.admin import AdminCommands
from bot.connectors import make_catalogue, make_order_book
from bot.demo.shop import seed_demo_shop
from bot.dialogue.actions import DialogueActions
from bot.dialogue.entities import ProductCatalogue
from bot.dialogue.intents import load_intent_classifier
from bot.dialogue.policy import Thresholds
from bot.dialogue.understanding import Understander
from bot.feedback.service import FeedbackService
from bot.feedback.web import admin_routes
from bot.handoff import HandoffService
from bot.handoff.auth import session_key
from bot.handoff.workspace import StaffAccess, Workspace, staff_access
from bot.llm_tasks import completion, summarizer
from bot.logs import configure_logging
from bot.middlewares import web_middlewares
from bot.observability import api_docs_routes, metrics_routes
from bot.pipeline import Pipeline, Step
from bot.pipeline.commands import Commands
from bot.pipeline.dialogue import DialogueStep
from bot.pipeline.feedback import PendingReason, RatingButtons, RatingCommands
from bot.pipeline.guard import MessageGuard
from bot.pipeline.handoff import Escalation, HumanRelay
from bot.pipeline.knowledge import KnowledgeAnswer
from bot.pipeline.understand import Understand
from bot.proxies import TrustedProxies
from bot.runtime.bus import AGENTS, KNOWLEDGE, Bus, LocalBus, make_bus
from bot.runtime.delivery import Delivery
from bot.runtime.locks import named_locks
from bot.runtime.runner import ConversationRunner
from bot.runtime.upkeep import Chores, Upkeep
from bot.texts import Catalog, use_catalog
from core.config.shop import ShopSettings
from core.errors import ConnectorError
from core.events import EventKind
from core.llm import ChatBackend, make_backend
from core.settings import KefuSettings
from core.shop import Catalogue, OrderBook
from core.storage import ConversationStore, Database, EventRecord
from core.storage.inbox import InboxStore
from core.storage.outbox import EventToRecord, OutboxStore
from core.storage.shared import SharedValues
from core.telemetry import GaugeSources, LLMCallStore, record_llm_calls
from core.types import ConversationKey, IncomingMessage, OutgoingMessage, utcnow
from knowledge.base import KnowledgeBase
from knowledge.embeddings import make_embedder

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
    bus: Bus = field(default_factory=LocalBus)
    orders: OrderBook = field(kw_only=True)
    """The company's order system (settings ``shop.orders``)."""
    catalogue: Catalogue = field(kw_only=True)
    """The company's product system (settings ``shop.catalogue``)."""
    admin: AdminCommands = field(init=False)
    handoff: HandoffService = field(init=False)
    feedback: FeedbackService = field(init=False)
    pipeline: Pipeline = field(init=False)
    inbox: InboxStore = field(init=False)
    outbox: OutboxStore = field(init=False)
    shared: SharedValues = field(init=False)
    delivery: Delivery = field(init=False)
    staff: StaffAccess = field(init=False)
    """Staff sign-in shared by the agent workspace and the admin pages."""
    runner: ConversationRunner = field(init=False)
    adapters: dict[str, Adapter] = field(default_factory=dict)
    gauges: GaugeSources = field(default_factory=GaugeSources)
    """Scrape-time sources of /metrics (handoff queue, outbox, knowledge)."""
    _upkeep: Upkeep | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        server = self.settings.server
        self.inbox = InboxStore(self.db)
        self.outbox = OutboxStore(self.db)
        self.shared = SharedValues(self.db)
        self.delivery = Delivery(
            self.outbox,
            self.adapters,
            named_locks(self.db.engine, "delivery"),
            self.bus,
            retry_window=timedelta(seconds=server.delivery_retry_s),
        )
        self.admin = AdminCommands(self.knowledge, self.deliver)
        self.handoff = HandoffService(
            self.settings.handoff,
            self.db,
            self.store,
            self.deliver,
            summarize=summarizer(self.llm) if self.llm is not None else None,
            publish=self.publish_to_agents,
        )
        self.bus.subscribe(AGENTS, self.handoff.hub.on_note)
        self.staff = staff_access(
            self.settings.handoff,
            self.db,
            session_key(self.settings.handoff.session_secret, self.settings.data_dir),
            TrustedProxies(server.trusted_proxies),
            self.handoff.clock,
        )
        self.bus.subscribe(KNOWLEDGE, self._knowledge_changed)
        self.feedback = FeedbackService(
            self.settings.feedback,
            self.store,
            self.db,
            self.knowledge.add_faq,
            add_alternative=self.knowledge.add_alternative,
            embed=self.knowledge.embedder.embed_queries,
        )
        self.gauges.watch(self.handoff.queue.waiting, self.knowledge.stats)
        self.gauges.set_outbox_source(self.outbox.counts)
        admins = self.settings
        self.pipeline = Pipeline(
            self.store, self._pipeline_steps(), lambda k: admins.is_admin(k.platform, k.user_id)
        )
        self.runner = ConversationRunner(
            self.inbox,
            self.outbox,
            self.store,
            self.pipeline.handle,
            named_locks(self.db.engine, "conversation"),
            self.bus,
            rate_limit_per_minute=self.settings.rate_limit_per_minute,
            max_concurrent_turns=server.max_concurrent_turns,
        )

    def _pipeline_steps(self) -> list[Step]:
        """The pipeline, first step to last (see ``bot.pipeline`` for what each one does)."""
        knowledge = self.settings.knowledge
        steps: list[Step] = [
            MessageGuard(self.settings.server.max_message_chars),
            RatingCommands(self.feedback),
            Commands(self.admin, self.store, self.handoff),
            HumanRelay(self.handoff),
            PendingReason(self.feedback),
            RatingButtons(self.feedback),
        ]
        if self.understander is not None:
            complete = completion(self.llm, "understand") if self.llm is not None else None
            dialogue_config = self.settings.dialogue
            steps.append(Understand(self.understander, self.store, dialogue_config, complete))
        steps.append(Escalation(self.handoff))
        dialogue = self._dialogue_actions()
        if dialogue is not None:
            steps.append(DialogueStep(dialogue))
        thresholds = Thresholds(faq=knowledge.faq_threshold, answer=knowledge.answer_threshold)
        products = self.understander.catalogue if self.understander is not None else None
        steps.append(
            KnowledgeAnswer(self.knowledge, thresholds, knowledge.top_k, self.llm, products)
        )
        return steps

    def _dialogue_actions(self) -> DialogueActions | None:
        if self.understander is None or self.understander.classifier.catalog is None:
            return None
        return DialogueActions(
            self.settings.dialogue,
            self.orders,
            self.catalogue,
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
        use_catalog(Catalog.load(settings.texts, settings.company))  # what every text reads
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.database_url)
        await db.upgrade()
        bus = make_bus(db.url)
        await bus.start()
        embedder = make_embedder(settings.knowledge)
        knowledge = await asyncio.to_thread(
            KnowledgeBase.open,
            settings.knowledge,
            settings.data_dir,
            embedder,
            database_url=settings.database_url,
        )
        if await asyncio.to_thread(knowledge.is_empty):
            log.info(
                "kb.first_start.ingesting", sources=[str(p) for p in settings.knowledge.source_dirs]
            )
            report = await asyncio.to_thread(knowledge.reload)
            log.info("kb.first_start.ingested", chunks=report.chunks, failed=len(report.failed))
        knowledge.on_changed = _publisher(bus, KNOWLEDGE, asyncio.get_running_loop())
        orders = make_order_book(settings.shop.orders, db)
        catalogue = make_catalogue(settings.shop.catalogue, db)
        await seed_demo_shop_if_used(settings.shop, db)
        understander = await build_understander(settings, catalogue, knowledge)
        llm = record_llm_calls(make_backend(settings.llm), LLMCallStore(db).add)
        app = cls(
            settings,
            db,
            ConversationStore(db),
            knowledge,
            understander,
            llm,
            bus,
            orders=orders,
            catalogue=catalogue,
        )
        identity, origins = customer_identity(settings), OriginPolicy(settings.web.allowed_origins)
        app.add_adapter(RestChannel(app.runner, app.outbox, identity))
        app.add_adapter(WebChatChannel(app.runner, app.outbox, identity, origins))
        for adapter in platform_adapters(settings, app.runner, app.shared):
            app.add_adapter(adapter)
        return app

    def add_adapter(self, adapter: Adapter) -> None:
        self.adapters[adapter.platform] = adapter

    async def handle(self, message: IncomingMessage) -> list[OutgoingMessage]:
        """Answers one message through the runner, as a pull channel would (tests, tools)."""
        return [entry.message for entry in await self.runner.handle(message)]

    async def deliver(
        self,
        key: ConversationKey,
        message: OutgoingMessage,
        *,
        record: EventToRecord | None = None,
    ) -> EventRecord | None:
        """Sends ``message`` to a conversation later, on the customer's own platform, through
        the outbox (stored first; retried when the platform fails for a moment).

        Returns:
            The event recorded with it, when ``record`` says which.

        Raises:
            StorageError: the message could not be stored.
        """
        source = "agent" if record and record.kind == EventKind.AGENT_MESSAGE else "system"
        return await self.delivery.enqueue(key, message, source=source, record=record)

    async def publish_to_agents(self, note: dict[str, Any]) -> None:
        await self.bus.publish(AGENTS, note)

    async def _knowledge_changed(self, note: dict[str, Any]) -> None:
        """Another worker (or this one) changed the knowledge base: catch up at once."""
        if note.get("generation") != self.knowledge.generation:
            await asyncio.to_thread(self.knowledge.refresh_if_changed)

    def routes(self) -> list[web.RouteDef]:
        """Every channel's, the agent workspace's and the admin pages' routes."""
        routes: list[web.RouteDef] = []
        for adapter in self.adapters.values():
            routes.extend(adapter.routes())
        timezone = self.settings.feedback.timezone
        routes.extend(Workspace(self.handoff, self.staff, timezone).routes())
        routes.extend(admin_routes(self.feedback, self.staff.sessions, self.staff.proxies))
        return routes

    def web_app(self) -> web.Application:
        """The one aiohttp server that mounts every channel's routes (tests and tools; the
        server itself starts listening before this object exists, see ``bot.server``)."""
        app = web.Application(
            client_max_size=self.settings.server.max_request_bytes,
            middlewares=web_middlewares(self.settings.web),
        )
        app.add_routes(self.routes())
        app.on_shutdown.append(self._disconnect_agents)
        app.router.add_get("/healthz", _health)
        app.add_routes(metrics_routes(self.settings.metrics, self.gauges))
        app.add_routes(api_docs_routes())
        return app

    async def start(self) -> None:
        """Starts the channels (a platform that is down is retried in the background) and
        the upkeep: delivery retries, orphaned messages, retention."""
        self._upkeep = Upkeep(
            Chores(
                delivery=self.delivery,
                runner=self.runner,
                inbox=self.inbox,
                outbox=self.outbox,
                shared=self.shared,
                knowledge=self.knowledge,
                retention=timedelta(hours=self.settings.server.message_retention_hours),
                refresh_interval_s=self.settings.knowledge.refresh_interval_s,
            )
        )
        self._upkeep.start()
        for adapter in self.adapters.values():
            await self._upkeep.start_adapter(adapter)
        await self.handoff.start()

    async def drain(self, grace_s: float) -> None:
        """Stops taking messages, finishes the turns in flight and sends what is due, within
        ``grace_s`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace_s
        for adapter in self.adapters.values():
            stop_receiving = getattr(adapter, "stop_receiving", None)
            if stop_receiving is not None:
                await stop_receiving()
        await self.runner.drain(grace_s)
        await self.delivery.flush(max(deadline - loop.time(), 0.0))

    async def _disconnect_agents(self, app: web.Application) -> None:
        await self.close_sockets()

    async def close_sockets(self) -> None:
        """Closes agents' and customers' WebSockets (at shutdown, so it is quick); the pages
        reconnect to another worker by themselves."""
        await self.handoff.disconnect_agents()
        web_chat = self.adapters.get("web")
        if web_chat is not None:
            await web_chat.stop()

    async def close(self) -> None:
        if self._upkeep is not None:
            await self._upkeep.stop()
        await self.admin.wait_for_reload()
        await self.handoff.close()
        if self.llm is not None:
            await self.llm.close()
        await self.orders.close()
        await self.catalogue.close()
        for adapter in self.adapters.values():
            await adapter.stop()
        await self.bus.close()
        await self.db.dispose()
        self.knowledge.close()


async def seed_demo_shop_if_used(settings: ShopSettings, db: Database) -> None:
    """Loads the demo shop into empty tables when a demo backend reads them."""
    if settings.seed_demo and "demo" in (settings.orders.backend, settings.catalogue.backend):
        await seed_demo_shop(db)


async def product_names(catalogue: Catalogue) -> ProductCatalogue:
    """The product names entity extraction looks for; none while the catalogue is down (the
    bot still answers, it only does not recognise product names)."""
    try:
        return ProductCatalogue.from_products(await catalogue.products())
    except ConnectorError as e:
        log.warning("shop.catalogue.unavailable_at_start", reason=str(e))
        return ProductCatalogue()


async def build_understander(
    settings: KefuSettings, catalogue: Catalogue, knowledge: KnowledgeBase
) -> Understander:
    """Loads (or trains once) the intent classifier, with the catalogue's product names."""
    names = await product_names(catalogue)
    classifier = await asyncio.to_thread(
        load_intent_classifier,
        settings.dialogue.intents_file,
        knowledge.embedder.embed_queries,
        embedder_name=knowledge.embedder.name,
        cache_dir=settings.data_dir / "models",
        threshold=settings.dialogue.oos_threshold,
    )
    return Understander(
        classifier, names, lambda: utcnow().date(), settings.dialogue.frustration_threshold
    )


def platform_adapters(
    settings: KefuSettings, runner: Runner, shared: SharedValues
) -> list[Adapter]:
    """The enabled platform channels; each SDK is imported only when its channel is on."""
    adapters: list[Adapter] = []
    if settings.telegram.enabled:
        from bot.adapters.telegram import TelegramAdapter

        adapters.append(TelegramAdapter(settings.telegram, runner, shared))
    if settings.discord.enabled:
        from bot.adapters.discord import DiscordAdapter

        adapters.append(DiscordAdapter(settings.discord, runner, shared))
    if settings.wecom.enabled:
        from bot.adapters.wecom import WeComAdapter

        adapters.append(WeComAdapter(settings.wecom, runner, shared))
    return adapters


def _publisher(bus: Bus, topic: str, loop: asyncio.AbstractEventLoop) -> Callable[[int], None]:
    """A hook for the knowledge base, which changes in a worker thread: the note goes out on
    the bus from the event loop."""

    def publish(generation: int) -> None:
        note = {"generation": generation}
        loop.call_soon_threadsafe(lambda: loop.create_task(bus.publish(topic, note)))

    return publish


async def _health(request: web.Request) -> web.Response:
    """Liveness: 200 {"status": "ok"} while the process answers."""
    return web.json_response({"status": "ok"})
