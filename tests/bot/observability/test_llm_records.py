"""One stored record and one log line per model call; ``kefu report`` compares models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog
from aiohttp.test_utils import TestClient

from bot.app import Kefu
from core.telemetry.llm_records import LLMCall, LLMCallStore
from core.telemetry.llm_report import compare_models, models_text
from tests.bot.conftest import ask
from tests.fakes.openai_server import Fail, FakeOpenAIServer, Reply

Client = TestClient[Any, Any]


async def test_each_call_is_stored_with_model_purpose_latency_tokens_and_outcome(
    llm_client: Client, llm_server: FakeOpenAIServer, llm_kefu: Kefu
) -> None:
    llm_server.enqueue(Reply(text="Laptops have a 2-year warranty [1]."))
    with structlog.testing.capture_logs() as logs:
        await ask(llm_client, "quinn", "How long is the laptop warranty?")
    llm_server.enqueue(Fail(500))
    await ask(llm_client, "rita", "How long is the laptop warranty?")

    ok, failed = await LLMCallStore(llm_kefu.db).since()
    assert (ok.model, ok.backend, ok.purpose, ok.outcome) == ("fake-chat", "openai", "answer", "ok")
    assert ok.latency_ms > 0
    assert ok.prompt_tokens and ok.completion_tokens
    assert ok.conversation_key == "rest:quinn:quinn:"
    assert (failed.outcome, failed.conversation_key) == ("fallback", "rest:rita:rita:")
    assert failed.error is not None
    [line] = [entry for entry in logs if entry["event"] == "llm.call"]
    assert line["model"] == "fake-chat" and line["outcome"] == "ok"
    assert [e["outcome"] for e in logs if e["event"] == "pipeline.turn"] == ["generated"]


def call(model: str, outcome: str, latency: float, first: float | None = None) -> LLMCall:
    return LLMCall(
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        model=model,
        backend="openai",
        purpose="answer",
        outcome=outcome,
        latency_ms=latency,
        first_token_ms=first,
        prompt_tokens=100,
        completion_tokens=20,
    )


def test_models_are_compared_on_success_latency_and_tokens() -> None:
    calls = [
        call("qwen-7b", "ok", 800, 120),
        call("qwen-7b", "ok", 1200, 150),
        call("qwen-7b", "timeout", 30000),
        call("glm-4", "ok", 400, 90),
    ]
    qwen, glm = compare_models(calls)
    assert (qwen.model, qwen.calls, qwen.timeouts, qwen.fallbacks) == ("qwen-7b", 3, 1, 1)
    assert qwen.ok_share == 0.6667
    assert qwen.p50_ms == 1200 and qwen.ttft_p50_ms == 135
    assert (glm.model, glm.ok_share, glm.prompt_tokens) == ("glm-4", 1.0, 100)
    text = models_text([qwen, glm])
    assert "qwen-7b [answer]: 3 calls, 66.7% ok" in text
