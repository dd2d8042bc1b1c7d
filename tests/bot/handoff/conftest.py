"""Handoff fixtures: a migrated database, a hand-moved clock, a recording ``deliver`` and a
small stand-in for the pipeline's two hook calls (the real pipeline is tested end to end in
``test_end_to_end.py``)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse, ClientSession, CookieJar, web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import Kefu
from bot.handoff import HandoffService
from bot.handoff.records import AgentRecord
from core.config.web import WebSettings
from core.events import EventKind
from core.settings import KefuSettings
from core.storage import ConversationStore, Database, EventRecord
from core.storage.outbox import EventToRecord
from core.text import detect_language
from core.types import ConversationKey, OutgoingMessage
from tests.bot.conftest import REST_TOKEN
from tests.core.conftest import BACKENDS, POSTGRES_URL, FakeClock, reset_postgres

BOT = "bot answered"
"""What :func:`customer_says` returns when neither hook took the message."""


@dataclass
class Deliveries:
    """Stands in for ``Kefu.deliver``: records what reached each customer and, like the real
    outbox, logs the event that goes with it."""

    store: ConversationStore | None = None
    sent: list[tuple[ConversationKey, OutgoingMessage]] = field(default_factory=list)

    async def __call__(
        self,
        key: ConversationKey,
        message: OutgoingMessage,
        *,
        record: EventToRecord | None = None,
    ) -> EventRecord | None:
        self.sent.append((key, message))
        if record is None or self.store is None:
            return None
        return await self.store.append_event(
            key, record.kind, text=message.text, payload=record.payload
        )

    def to(self, key: ConversationKey) -> list[str]:
        return [message.text for k, message in self.sent if k == key]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def handoff_settings(tmp_path: Path) -> KefuSettings:
    settings = KefuSettings(
        data_dir=tmp_path / "data", admins={"rest": ["boss"]}, web=WebSettings(api_token=REST_TOKEN)
    )
    settings.handoff.hours.always_open = True
    return settings


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'kefu.db'}")
    await database.upgrade()
    yield database
    await database.dispose()


@pytest.fixture(params=BACKENDS)
async def any_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on SQLite, and on PostgreSQL when KEFU_TEST_DATABASE_URL is set."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'shared' / 'kefu.db'}"
    assert POSTGRES_URL is not None
    await reset_postgres(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture
def store(database: Database, clock: FakeClock) -> ConversationStore:
    return ConversationStore(database, clock=clock)


@pytest.fixture
def deliveries(store: ConversationStore) -> Deliveries:
    return Deliveries(store)


@pytest.fixture
async def service(
    handoff_settings: KefuSettings,
    database: Database,
    store: ConversationStore,
    deliveries: Deliveries,
    clock: FakeClock,
) -> AsyncIterator[HandoffService]:
    service = HandoffService(handoff_settings.handoff, database, store, deliveries, clock=clock)
    yield service
    await service.close()


@pytest.fixture
async def alice(service: HandoffService) -> AgentRecord:
    return await service.agents.add("alice", token="kefu_alice-token")


@pytest.fixture
async def bob(service: HandoffService) -> AgentRecord:
    return await service.agents.add("bob", token="kefu_bob-token")


async def customer_says(
    service: HandoffService,
    store: ConversationStore,
    key: ConversationKey,
    text: str,
    *,
    intent: str | None = None,
    frustrated: bool = False,
    bot_answer_kind: str = "faq",
) -> list[OutgoingMessage] | str:
    """What the pipeline does around the hooks: log the message, ask the handoff gate, then
    (after understanding) ask whether to escalate, else let the bot answer.

    Returns:
        The handoff's replies, or :data:`BOT` when the bot answered (recorded with
        ``bot_answer_kind``).
    """
    language = detect_language(text)
    previous = await store.events(key, kinds=[EventKind.BOT_REPLY])
    await store.append_event(key, EventKind.USER_MESSAGE, text=text)
    replies = await service.route_customer_message(key, text, language)
    if replies is None:
        replies = await service.maybe_escalate(
            key,
            text,
            language,
            intent=intent,
            frustrated=frustrated,
            last_answers=[str(e.payload.get("answer_kind")) for e in previous],
        )
    if replies is None:
        await store.append_event(
            key, EventKind.BOT_REPLY, text="(bot answer)", payload={"answer_kind": bot_answer_kind}
        )
        return BOT
    await record(store, key, replies)
    return replies


async def record(
    store: ConversationStore, key: ConversationKey, replies: Sequence[OutgoingMessage]
) -> None:
    for reply in replies:
        await store.append_event(
            key, EventKind.BOT_REPLY, text=reply.text, payload=dict(reply.custom)
        )


async def status(store: ConversationStore, key: ConversationKey) -> str:
    conversation = await store.get(key)
    assert conversation is not None
    return conversation.status


# --- The real Kefu with the agent workspace -------------------------------------------------


@pytest.fixture
async def handoff(kefu: Kefu) -> HandoffService:
    """The running bot's handoff service."""
    return kefu.handoff


@pytest.fixture
def agent_app(kefu: Kefu, handoff: HandoffService) -> web.Application:
    return kefu.web_app()


@pytest.fixture
async def site(agent_app: web.Application) -> AsyncIterator[TestClient[Any, Any]]:
    """The bot's one web server (REST channel and /agent) on 127.0.0.1."""
    async with TestClient(TestServer(agent_app, host="127.0.0.1")) as client:
        yield client


class AgentBrowser:
    """One agent's HTTP client with its own cookies, like one browser."""

    def __init__(self, site: TestClient[Any, Any]) -> None:
        self.base = site.make_url("/").origin()
        self.http = ClientSession(base_url=self.base, cookie_jar=CookieJar(unsafe=True))
        self.csrf = ""

    async def login(self, name: str, secret: str) -> ClientResponse:
        page = await self.http.get("/agent/login")
        token = re.search(r'name="csrf" value="([^"]+)"', await page.text())
        assert token is not None
        response = await self.http.post(
            "/agent/login",
            data={"name": name, "password": secret, "csrf": token.group(1)},
            allow_redirects=False,
        )
        if response.status == 303:
            me = await self.http.get("/agent/api/me")
            self.csrf = (await me.json())["csrf"]
        return response

    async def post(self, path: str, body: dict[str, Any] | None = None) -> ClientResponse:
        return await self.http.post(path, json=body or {}, headers={"X-CSRF-Token": self.csrf})

    async def close(self) -> None:
        await self.http.close()


@pytest.fixture
async def browsers(site: TestClient[Any, Any]) -> AsyncIterator[Callable[[], AgentBrowser]]:
    opened: list[AgentBrowser] = []

    def open_browser() -> AgentBrowser:
        opened.append(AgentBrowser(site))
        return opened[-1]

    yield open_browser
    for browser in opened:
        await browser.close()
