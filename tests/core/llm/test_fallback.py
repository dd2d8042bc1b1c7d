"""Falling back to the extractive answer, and not waiting on a model that is down."""

from __future__ import annotations

import pytest

from core.config.llm import LLMSettings
from core.errors import ConfigError, LLMError
from core.llm import ChatMessage, make_backend
from core.llm.fallback import FailSafeBackend, with_fallback
from core.llm.openai_backend import OpenAIBackend
from core.settings import KefuSettings
from tests.core.llm.scripted import ScriptedBackend

HELLO = [ChatMessage("user", "hello")]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_unexpected_errors_become_llm_errors() -> None:
    guarded = FailSafeBackend(ScriptedBackend([RuntimeError("CUDA out of memory")]))

    with pytest.raises(LLMError):
        await guarded.complete(HELLO)


async def test_after_three_failures_the_model_is_skipped_until_the_cooldown_ends() -> None:
    clock = Clock()
    inner = ScriptedBackend([LLMError("down")] * 3 + ["back again"])
    guarded = FailSafeBackend(inner, cooldown_s=30, clock=clock)
    for _ in range(3):
        with pytest.raises(LLMError):
            await guarded.complete(HELLO)

    with pytest.raises(LLMError, match="skipped"):
        await guarded.complete(HELLO)
    assert len(inner.calls) == 3  # the fourth customer did not wait for the dead model

    clock.now += 31
    assert (await guarded.complete(HELLO)).text == "back again"


async def test_a_broken_stream_counts_as_a_failure() -> None:
    guarded = FailSafeBackend(ScriptedBackend([LLMError("stream broke")]), failures_to_trip=1)

    with pytest.raises(LLMError):
        _ = [piece async for piece in guarded.stream(HELLO)]
    assert not guarded.available


async def test_with_fallback_gives_the_extractive_answer_when_the_model_fails() -> None:
    backend = ScriptedBackend([LLMError("timed out")])

    async def generate() -> str:
        return (await backend.complete(HELLO)).text

    answered = await with_fallback(generate, lambda: "extractive answer")

    assert answered.value == "extractive answer"
    assert answered.fell_back
    assert answered.reason == "timed out"


async def test_with_fallback_keeps_the_model_answer_when_it_works() -> None:
    backend = ScriptedBackend(["model answer"])

    async def generate() -> str:
        return (await backend.complete(HELLO)).text

    async def extractive() -> str:
        raise AssertionError("must not be called")

    answered = await with_fallback(generate, extractive)

    assert (answered.value, answered.fell_back) == ("model answer", False)


def test_make_backend_builds_what_the_settings_name() -> None:
    assert make_backend(LLMSettings()) is None
    built = make_backend(LLMSettings(backend="openai", model="m", base_url="http://127.0.0.1:1/v1"))
    assert isinstance(built, FailSafeBackend)
    assert isinstance(built.inner, OpenAIBackend)
    with pytest.raises(ConfigError):
        make_backend(LLMSettings(backend="transformers"))


def test_llm_settings_come_from_kefu_environment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KEFU_LLM__BACKEND", "openai")
    monkeypatch.setenv("KEFU_LLM__MODEL", "glm-4")
    monkeypatch.setenv("KEFU_LLM__API_KEY", "secret")
    monkeypatch.setenv("KEFU_LLM__TIMEOUT_S", "12.5")

    llm = KefuSettings().llm

    assert (llm.backend, llm.model, llm.timeout_s) == ("openai", "glm-4", 12.5)
    assert llm.api_key is not None and llm.api_key.get_secret_value() == "secret"
    assert "secret" not in repr(llm)
