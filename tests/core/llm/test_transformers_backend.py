"""The transformers backend for real, on a tiny random chat model created by the fixtures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any, cast

import pytest

from core.config.llm import LLMSettings
from core.errors import ConfigError, LLMError
from core.llm.base import ChatMessage, ToolCall
from core.llm.synthetic import random_chat_model
from core.llm.tools import ORDER_STATUS
from core.llm.transformers_backend import TransformersBackend
from tests.core.llm.conftest import glm3_style_tokenizer, silence_special_tokens

CONVERSATION = [
    ChatMessage("system", "You are Kefu's assistant."),
    ChatMessage("user", "Can I return shoes?"),
    ChatMessage("assistant", "Yes, within 30 days [1]."),
    ChatMessage("user", "退款多久到账？"),
]


def settings(model: str | Path, **overrides: Any) -> LLMSettings:
    options: dict[str, Any] = {
        "backend": "transformers",
        "model": str(model),
        "device": "cpu",
        "temperature": 0.0,
        "max_new_tokens": 8,
        "timeout_s": 60.0,
    }
    return LLMSettings(**(options | overrides))


@pytest.fixture
async def backend(tiny_model_dir: Path) -> Any:
    local = TransformersBackend(settings(tiny_model_dir))
    yield local
    await local.close()


async def test_model_folder_loads_and_answers_within_max_new_tokens(
    backend: TransformersBackend,
) -> None:
    result = await backend.complete(CONVERSATION, max_tokens=6)

    assert result.text
    assert result.usage is not None
    assert result.usage.completion_tokens == 6
    assert result.finish_reason == "length"


async def test_chat_template_carries_the_whole_history_in_order(
    backend: TransformersBackend,
) -> None:
    await backend.load()

    prompt = backend.render_prompt(CONVERSATION)

    expected = [
        "<|im_start|>system\nYou are Kefu's assistant.<|im_end|>",
        "<|im_start|>user\nCan I return shoes?<|im_end|>",
        "<|im_start|>assistant\nYes, within 30 days [1].<|im_end|>",
        "<|im_start|>user\n退款多久到账？<|im_end|>",
    ]
    positions = [prompt.index(turn) for turn in expected]
    assert positions == sorted(positions)
    assert prompt.endswith("<|im_start|>assistant\n")


async def test_streamed_pieces_join_to_the_full_answer(backend: TransformersBackend) -> None:
    full = await backend.complete(CONVERSATION, max_tokens=10)

    pieces = [piece async for piece in backend.stream(CONVERSATION, max_tokens=10)]

    assert len(pieces) > 1
    assert "".join(pieces).strip() == full.text


async def test_concurrent_customers_get_their_own_answers(backend: TransformersBackend) -> None:
    questions = ["Hello", "我的订单什么时候发货？预计周五送达吗？", "Refunds take how long?"]
    alone = [await backend.complete([ChatMessage("user", q)], max_tokens=7) for q in questions]

    together = await asyncio.gather(
        *(backend.complete([ChatMessage("user", q)], max_tokens=7) for q in questions)
    )

    assert [r.text for r in together] == [r.text for r in alone]
    assert max(backend.batch_sizes) > 1  # they really shared a batch


async def test_each_customer_keeps_their_own_length_limit_in_a_batch(
    backend: TransformersBackend,
) -> None:
    limits = [3, 5, 9]
    results = await asyncio.gather(
        *(backend.complete(CONVERSATION, max_tokens=limit) for limit in limits)
    )

    assert [r.usage.completion_tokens for r in results if r.usage] == limits


async def test_a_customer_who_stops_listening_frees_the_model(
    backend: TransformersBackend,
) -> None:
    stream = cast(AsyncGenerator[str, None], backend.stream(CONVERSATION, max_tokens=200))
    async for _ in stream:
        break
    await stream.aclose()  # e.g. the web chat socket closed

    result = await asyncio.wait_for(backend.complete(CONVERSATION, max_tokens=3), timeout=30)

    assert result.usage is not None and result.usage.completion_tokens == 3


async def test_too_slow_for_the_timeout_raises_llm_error(tiny_model_dir: Path) -> None:
    slow = TransformersBackend(settings(tiny_model_dir, timeout_s=0.001))
    await slow.load()

    with pytest.raises(LLMError, match="gave nothing"):
        await slow.complete(CONVERSATION, max_tokens=50)
    await slow.close()


async def test_missing_model_folder_is_a_clear_error(tmp_path: Path) -> None:
    missing = TransformersBackend(settings(tmp_path / "no-such-model"))

    with pytest.raises(ConfigError, match="does not exist"):
        await missing.load()
    with pytest.raises(LLMError, match="does not exist"):
        await missing.complete(CONVERSATION)
    await missing.close()


@pytest.fixture
async def glm3_backend() -> Any:
    tokenizer = glm3_style_tokenizer()
    model = random_chat_model(len(tokenizer), eos_token_id=tokenizer.eos_token_id)
    silence_special_tokens(model, tokenizer)
    local = TransformersBackend(settings("glm3-style"), model=model, tokenizer=tokenizer)
    yield local
    await local.close()


async def test_chatglm3_tokenizers_get_glm3_roles_and_tools_in_the_system_turn(
    glm3_backend: TransformersBackend,
) -> None:
    await glm3_backend.load()
    conversation = [
        *CONVERSATION,
        ChatMessage(
            "assistant", "", tool_calls=(ToolCall("c1", "order_status", {"order_no": "KF1"}),)
        ),
        ChatMessage("observation", '{"status": "shipped"}', name="order_status"),
    ]

    prompt = glm3_backend.render_prompt(conversation, tools=[ORDER_STATUS])

    assert prompt.startswith("[gMASK]<sop><|system|>\nYou are Kefu's assistant.\n[")
    assert '"name": "order_status"' in prompt.split("<|user|>")[0]
    assert "<|user|>\n退款多久到账？" in prompt
    assert "<|assistant|>order_status\n```python\ntool_call(order_no='KF1')\n```" in prompt
    assert prompt.endswith('<|observation|>\n{"status": "shipped"}<|assistant|>')


async def test_chatglm3_style_model_generates_through_build_chat_input(
    glm3_backend: TransformersBackend,
) -> None:
    result = await glm3_backend.complete(CONVERSATION, max_tokens=5)

    assert result.usage is not None
    assert result.usage.completion_tokens == 5
