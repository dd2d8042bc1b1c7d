"""``/metrics`` after real turns through the REST channel: counters and histograms move, the
gauges read the handoff queue and the knowledge base, and the endpoint is protected."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import generate_latest
from pydantic import SecretStr

from bot.app import Kefu
from core.settings import KefuSettings
from core.telemetry.metrics import REGISTRY
from core.telemetry.sources import GaugeSources
from tests.bot.conftest import ask
from tests.fakes.openai_server import Fail, FakeOpenAIServer, Reply

Client = TestClient[Any, Any]


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in the Prometheus text format (0 when absent)."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = re.fullmatch(r"([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)", line)
        if match is None or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match.group(3))
    return 0.0


async def scrape(client: Client) -> str:
    response = await client.get("/metrics")
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("text/plain")
    return await response.text()


async def test_turns_move_the_counters_and_histograms(client: Client, kefu: Kefu) -> None:
    before = await scrape(client)
    await ask(client, "mia", "怎么开发票？")  # a curated FAQ
    await ask(client, "mia", "明天上海会下雨吗？")  # nothing relevant: don't know
    await ask(client, "noah", "转人工")  # a handoff
    after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert moved("kefu_messages_total", channel="rest", outcome="faq") == 1
    assert moved("kefu_messages_total", channel="rest", outcome="dont_know") == 1
    assert moved("kefu_messages_total", channel="rest", outcome="handoff") == 1
    assert moved("kefu_turn_seconds_count", channel="rest") == 3
    assert moved("kefu_turn_step_seconds_count", step="retrieve") >= 2
    assert moved("kefu_turn_step_seconds_count", step="understand") == 3
    assert moved("kefu_retrieval_seconds_count") >= 2
    assert sample(after, "kefu_handoff_queue_length") == 1
    assert sample(after, "kefu_knowledge_chunks") == kefu.knowledge.stats().chunks > 0
    assert sample(after, "kefu_outbox_messages", state="pending") == -1  # not wired yet


async def test_outbox_counts_come_from_the_hook(client: Client, kefu: Kefu) -> None:
    async def counts() -> dict[str, int]:
        return {"pending": 4, "failed": 1}

    kefu.gauges.set_outbox_source(counts)
    text = await scrape(client)
    assert sample(text, "kefu_outbox_messages", state="pending") == 4
    assert sample(text, "kefu_outbox_messages", state="failed") == 1


async def test_a_failing_source_does_not_fail_the_scrape(client: Client, kefu: Kefu) -> None:
    async def broken() -> dict[str, int]:
        raise ConnectionError("database down")

    kefu.gauges.set_outbox_source(broken)
    text = await scrape(client)
    assert sample(text, "kefu_metrics_source_errors_total", source="outbox") >= 1
    assert sample(text, "kefu_knowledge_chunks") > 0


@pytest.fixture
async def guarded(settings: KefuSettings) -> AsyncIterator[Client]:
    settings.metrics.token = SecretStr("scrape-me")
    app = await Kefu.create(settings, configure_logs=False)
    async with TestClient(TestServer(app.web_app())) as client:
        yield client
    await app.close()


async def test_a_token_protects_the_endpoint(guarded: Client) -> None:
    assert (await guarded.get("/metrics")).status == 403
    wrong = await guarded.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status == 403
    right = await guarded.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert right.status == 200
    assert "kefu_messages_total" in await right.text() or "kefu_messages" in await right.text()


async def test_without_a_token_only_trusted_networks_may_scrape(settings: KefuSettings) -> None:
    settings.metrics.trusted_networks = ["10.0.0.0/8"]  # the test client comes from 127.0.0.1
    app = await Kefu.create(settings, configure_logs=False)
    try:
        async with TestClient(TestServer(app.web_app())) as client:
            assert (await client.get("/metrics")).status == 403
    finally:
        await app.close()


async def test_llm_calls_are_counted_by_model_and_outcome(
    llm_client: Client, llm_server: FakeOpenAIServer, llm_kefu: Kefu
) -> None:
    before = await scrape(llm_client)
    llm_server.enqueue(Reply(text="Laptops have a 2-year warranty [1]."))
    await ask(llm_client, "quinn", "How long is the laptop warranty?")
    llm_server.enqueue(Fail(500))
    await ask(llm_client, "rita", "How long is the laptop warranty?")
    after = await scrape(llm_client)

    def moved(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    ok = {"model": "fake-chat", "purpose": "answer"}
    assert moved("kefu_llm_calls_total", outcome="ok", **ok) == 1
    assert moved("kefu_llm_calls_total", outcome="fallback", **ok) == 1
    assert moved("kefu_llm_fallbacks_total", **ok) == 1
    assert moved("kefu_llm_latency_seconds_count", **ok) == 2
    assert moved("kefu_llm_errors_total", model="fake-chat") == 1
    assert moved("kefu_messages_total", channel="rest", outcome="generated") == 1


async def test_the_queue_gauges_read_the_oldest_wait() -> None:
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)

    @dataclass
    class Waiting:
        created_at: datetime

    async def waiting() -> list[Waiting]:
        return [Waiting(now - timedelta(minutes=5)), Waiting(now - timedelta(seconds=30))]

    sources = GaugeSources(clock=lambda: now)
    sources.set_handoff_source(waiting)
    await sources.refresh()
    text = generate_latest(REGISTRY).decode()
    assert sample(text, "kefu_handoff_queue_length") == 2
    assert sample(text, "kefu_handoff_oldest_wait_seconds") == 300
