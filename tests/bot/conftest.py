"""A real Kefu on a temporary data directory, with the demo knowledge base ingested once."""

from __future__ import annotations

import csv
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import Kefu
from bot.demo.shop import DemoCatalogue, DemoOrderBook, seed_demo_shop
from bot.dialogue.intents import load_intent_classifier
from core.config.dialogue import DialogueSettings
from core.config.llm import LLMSettings
from core.config.web import WebSettings
from core.settings import DEMO_KB_DIR, KefuSettings, KnowledgeSettings
from core.storage import Database
from knowledge.base import KnowledgeBase
from tests.fakes.openai_server import FakeOpenAIServer

Client = TestClient[Any, Any]
REST_TOKEN = "test-rest-token"
BACKEND = {"Authorization": f"Bearer {REST_TOKEN}"}
"""Headers of a backend that owns the sender ids (the channel API token)."""


@pytest.fixture(scope="session")
def demo_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory holding the demo knowledge base, ingested with the default embedder."""
    data_dir = tmp_path_factory.mktemp("demo-index")
    return with_demo_intents(KnowledgeBase.open(KnowledgeSettings(), data_dir), data_dir)


def with_demo_intents(knowledge: KnowledgeBase, data_dir: Path) -> Path:
    """Ingests the demo knowledge and trains the demo intents into ``data_dir`` once, so every
    bot started on a copy finds its intent model in the cache (training takes seconds)."""
    knowledge.reload()
    dialogue = DialogueSettings()
    load_intent_classifier(
        dialogue.intents_file,
        knowledge.embedder.embed_queries,
        embedder_name=knowledge.embedder.name,
        cache_dir=data_dir / "models",
        threshold=dialogue.oos_threshold,
    )
    knowledge.close()
    return data_dir


@pytest.fixture
async def shop_db(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated SQLite database with the demo shop loaded."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}")
    await database.upgrade()
    await seed_demo_shop(database)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def demo_orders(shop_db: Database) -> DemoOrderBook:
    return DemoOrderBook(shop_db)


@pytest.fixture
def demo_catalogue(shop_db: Database) -> DemoCatalogue:
    return DemoCatalogue(shop_db)


@pytest.fixture
def settings(tmp_path: Path, demo_index: Path) -> KefuSettings:
    data_dir = tmp_path / "data"
    shutil.copytree(demo_index, data_dir)
    admins = {"rest": ["admin"], "web": ["admin"], "console": ["*"]}
    return KefuSettings(data_dir=data_dir, admins=admins, web=WebSettings(api_token=REST_TOKEN))


@pytest.fixture
async def kefu(settings: KefuSettings) -> AsyncIterator[Kefu]:
    app = await Kefu.create(settings, configure_logs=False)
    yield app
    await app.close()


@pytest.fixture
async def client(kefu: Kefu) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(kefu.web_app())) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def demo_faq() -> dict[str, dict[str, str]]:
    with (DEMO_KB_DIR / "faq.csv").open(encoding="utf-8") as handle:
        return {row["id"]: row for row in csv.DictReader(handle)}


async def ask(client: TestClient[Any, Any], sender: str, text: str) -> list[dict[str, Any]]:
    """``text`` from ``sender`` through the REST channel, as a backend with the API token."""
    response = await client.post(
        "/webhooks/rest/webhook", json={"sender": sender, "message": text}, headers=BACKEND
    )
    assert response.status == 200, await response.text()
    body: list[dict[str, Any]] = await response.json()
    return body


async def pending(client: TestClient[Any, Any], sender: str) -> list[dict[str, Any]]:
    """Messages waiting for ``sender`` on the REST channel, read as the backend."""
    response = await client.get(
        "/webhooks/rest/messages", params={"sender": sender}, headers=BACKEND
    )
    assert response.status == 200, await response.text()
    body: list[dict[str, Any]] = await response.json()
    return body


@pytest.fixture
async def llm_server() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer() as server:
        yield server


def fake_llm_settings(server: FakeOpenAIServer) -> LLMSettings:
    """The openai backend pointed at the fake server, no retries, 5 s timeout."""
    return LLMSettings(
        backend="openai",
        model="fake-chat",
        base_url=server.base_url,
        api_key="sk-test",
        max_retries=0,
        timeout_s=5,
    )


@pytest.fixture
async def llm_kefu(settings: KefuSettings, llm_server: FakeOpenAIServer) -> AsyncIterator[Kefu]:
    """Kefu with the openai backend pointed at the fake server (no retries, 5 s timeout)."""
    settings.llm = fake_llm_settings(llm_server)
    settings.knowledge.faq_threshold = 1.01  # every relevant question goes to the model
    app = await Kefu.create(settings, configure_logs=False)
    yield app
    await app.close()


@pytest.fixture
async def llm_client(llm_kefu: Kefu) -> AsyncIterator[Client]:
    async with TestClient(TestServer(llm_kefu.web_app())) as client:
        yield client
