"""System fixtures: N real ``kefu serve`` workers on one PostgreSQL and one ``chroma run``
server, and the fake platforms as loopback HTTP servers the workers reach by URL.

Skipped without ``KEFU_TEST_DATABASE_URL`` (``.ci/run`` starts PostgreSQL and exports it).
Every scenario starts from an empty database (``DROP SCHEMA public``) and a fresh Chroma
server; every process is stopped at the end, also when the test fails (worker logs are then
printed). Workers use the hashing embedder: these tests are about plumbing, not answer quality,
and it keeps a cold start at a few seconds.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.core.conftest import reset_postgres
from tests.fakes import telegram as fake_telegram
from tests.fakes import wecom as fake_wecom
from tests.fakes.flaky_llm import FlakyOpenAIServer
from tests.fakes.telegram import FakeTelegram
from tests.fakes.wecom import FakeWeCom
from tests.system.cluster import ChromaServer, Cluster, shared_env

POSTGRES_URL = os.environ.get("KEFU_TEST_DATABASE_URL")
TELEGRAM_SECRET = "system-test-webhook-secret"
ADMIN = "admin"


_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


@pytest.fixture
def database_url() -> str:
    if not POSTGRES_URL:
        pytest.skip("KEFU_TEST_DATABASE_URL is not set: system tests need PostgreSQL")
    return POSTGRES_URL


@pytest.fixture
async def chroma(tmp_path: Path) -> AsyncIterator[ChromaServer]:
    server = ChromaServer(tmp_path / "chroma")
    try:
        await server.start()
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def cluster(
    request: pytest.FixtureRequest, tmp_path: Path, database_url: str, chroma: ChromaServer
) -> AsyncIterator[Cluster]:
    """An empty deployment; tests call ``await cluster.start(n, extra_env)``."""
    await reset_postgres(database_url)
    env = shared_env(database_url, chroma.url)
    env["KEFU_ADMINS"] = f'{{"rest": ["{ADMIN}"], "console": ["*"]}}'
    deployment = Cluster(tmp_path / "workers", env)
    try:
        yield deployment
    finally:
        await deployment.stop()
        if request.node.stash.get(_FAILED, False):
            print(deployment.logs(80))


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def telegram_env(server: FakeTelegram) -> dict[str, str]:
    """Workers in webhook mode against the fake Bot API (no setWebhook: no public URL)."""
    return {
        "KEFU_TELEGRAM__ENABLED": "true",
        "KEFU_TELEGRAM__TOKEN": fake_telegram.TOKEN,
        "KEFU_TELEGRAM__MODE": "webhook",
        "KEFU_TELEGRAM__WEBHOOK_SECRET": TELEGRAM_SECRET,
        "KEFU_TELEGRAM__API_BASE_URL": server.base_url,
        "KEFU_TELEGRAM__FILE_BASE_URL": f"{server.base_url.removesuffix('/bot')}/file/bot",
    }


@pytest.fixture
async def wecom() -> AsyncIterator[FakeWeCom]:
    server = FakeWeCom()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def wecom_env(server: FakeWeCom) -> dict[str, str]:
    return {
        "KEFU_WECOM__ENABLED": "true",
        "KEFU_WECOM__CORP_ID": fake_wecom.CORP_ID,
        "KEFU_WECOM__AGENT_ID": str(fake_wecom.AGENT_ID),
        "KEFU_WECOM__SECRET": fake_wecom.SECRET,
        "KEFU_WECOM__TOKEN": fake_wecom.TOKEN,
        "KEFU_WECOM__ENCODING_AES_KEY": fake_wecom.AES_KEY,
        "KEFU_WECOM__API_BASE_URL": server.url,
    }


@pytest.fixture
async def llm() -> AsyncIterator[FlakyOpenAIServer]:
    async with FlakyOpenAIServer() as server:
        yield server


def llm_env(server: FlakyOpenAIServer, timeout_s: float = 10.0) -> dict[str, str]:
    return {
        "KEFU_LLM__BACKEND": "openai",
        "KEFU_LLM__MODEL": "fake-chat",
        "KEFU_LLM__BASE_URL": server.base_url,
        "KEFU_LLM__API_KEY": "sk-test",
        "KEFU_LLM__MAX_RETRIES": "0",
        "KEFU_LLM__TIMEOUT_S": str(timeout_s),
        # no curated FAQ answer short-cuts the model: every knowledge answer is generated
        "KEFU_KNOWLEDGE__FAQ_THRESHOLD": "1.01",
    }
