"""The openai backend: the real SDK against a fake OpenAI-protocol server on 127.0.0.1."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from core.config.llm import LLMSettings
from core.errors import LLMError
from core.llm.base import ChatMessage
from core.llm.openai_backend import OpenAIBackend
from core.llm.tools import order_status_tool, run_with_tools
from tests.fakes.openai_server import BreakStream, Fail, FakeOpenAIServer, Reply

QUESTION = [ChatMessage("system", "Be brief."), ChatMessage("user", "Where is my parcel?")]


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer() as fake:
        yield fake


def backend_for(url: str, **overrides: Any) -> OpenAIBackend:
    options: dict[str, Any] = {
        "backend": "openai",
        "model": "qwen2.5-7b-instruct",
        "base_url": url,
        "timeout_s": 2.0,
        "max_retries": 2,
    }
    return OpenAIBackend(LLMSettings(**(options | overrides)))


async def test_answer_comes_back_and_request_carries_conversation_and_settings(
    server: FakeOpenAIServer,
) -> None:
    server.enqueue(Reply("It left our warehouse today."))
    backend = backend_for(server.base_url, api_key="sk-test", max_new_tokens=64)

    result = await backend.complete(QUESTION)

    assert result.text == "It left our warehouse today."
    assert result.finish_reason == "stop"
    request = server.requests[0]
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.body["model"] == "qwen2.5-7b-instruct"
    assert request.body["max_tokens"] == 64
    assert request.body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Where is my parcel?"},
    ]
    await backend.close()


async def test_streamed_pieces_join_to_the_answer(server: FakeOpenAIServer) -> None:
    server.enqueue(Reply("Your order ships on Friday [1]."))
    backend = backend_for(server.base_url)

    pieces = [piece async for piece in backend.stream(QUESTION)]

    assert len(pieces) > 1
    assert "".join(pieces) == "Your order ships on Friday [1]."
    assert server.requests[0].body["stream"] is True
    await backend.close()


async def test_rate_limit_is_retried_then_answered(server: FakeOpenAIServer) -> None:
    server.enqueue(Fail(429), Fail(429), Reply("Answer after waiting."))
    backend = backend_for(server.base_url, max_retries=2)

    result = await backend.complete(QUESTION)

    assert result.text == "Answer after waiting."
    assert len(server.requests) == 3
    await backend.close()


async def test_server_errors_past_the_retries_raise_llm_error(server: FakeOpenAIServer) -> None:
    server.enqueue(Fail(500), Fail(503), Fail(500))
    backend = backend_for(server.base_url, max_retries=2)

    with pytest.raises(LLMError, match="HTTP 500"):
        await backend.complete(QUESTION)

    assert len(server.requests) == 3
    await backend.close()


async def test_slow_server_times_out_with_llm_error(server: FakeOpenAIServer) -> None:
    server.enqueue(Reply("too late", delay_s=1.0))
    backend = backend_for(server.base_url, timeout_s=0.3, max_retries=0)

    with pytest.raises(LLMError, match=r"did not answer within 0\.3s"):
        await backend.complete(QUESTION)
    await backend.close()


async def test_broken_stream_raises_llm_error_after_the_pieces_it_sent(
    server: FakeOpenAIServer,
) -> None:
    server.enqueue(BreakStream("One two three four five", pieces_before_break=2))
    backend = backend_for(server.base_url, max_retries=0)
    received: list[str] = []

    with pytest.raises(LLMError, match="broke after 2 pieces"):
        async for piece in backend.stream(QUESTION):
            received.append(piece)

    assert received == ["One ", "two "]
    await backend.close()


async def test_stream_that_stops_without_finishing_counts_as_broken(
    server: FakeOpenAIServer,
) -> None:
    server.enqueue(Reply("Half an answer", stream_without_finish=True))
    backend = backend_for(server.base_url, max_retries=0)

    with pytest.raises(LLMError, match="ended early"):
        _ = [piece async for piece in backend.stream(QUESTION)]
    await backend.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_nothing_listening_says_the_server_cannot_be_reached() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    backend = backend_for(url, max_retries=0)

    with pytest.raises(LLMError, match="cannot reach the LLM server"):
        await backend.complete(QUESTION)
    await backend.close()


async def test_wrong_path_says_to_check_the_base_url(server: FakeOpenAIServer) -> None:
    backend = backend_for(server.root_url, max_retries=0)  # forgot the /v1

    with pytest.raises(LLMError, match=r"404.*base_url"):
        await backend.complete(QUESTION)
    await backend.close()


async def test_azure_calls_the_deployment_with_api_version_and_key(
    server: FakeOpenAIServer,
) -> None:
    settings = LLMSettings(
        backend="openai",
        azure_endpoint=server.root_url,
        azure_deployment="kefu-gpt4o",
        api_version="2024-10-21",
        api_key=SecretStr("azure-secret"),
        max_retries=0,
    )
    backend = OpenAIBackend(settings)

    await backend.complete(QUESTION)

    request = server.requests[0]
    assert request.path == "/openai/deployments/kefu-gpt4o/chat/completions"
    assert request.query["api-version"] == "2024-10-21"
    assert request.headers["api-key"] == "azure-secret"
    await backend.close()


async def test_order_status_tool_round_trip_in_openai_tools_format(
    server: FakeOpenAIServer,
) -> None:
    server.enqueue(
        Reply("", tool_calls=[("order_status", {"order_no": "KF1001"})]),
        Reply("Order KF1001 was shipped with SF Express."),
    )
    backend = backend_for(server.base_url)
    looked_up: list[str] = []

    async def lookup(order_no: str) -> dict[str, Any] | None:
        looked_up.append(order_no)
        return {"order_no": order_no, "status": "shipped", "carrier": "SF Express"}

    tools = {"order_status": order_status_tool(lookup)}
    result = await run_with_tools(backend, QUESTION, tools)

    assert result.text == "Order KF1001 was shipped with SF Express."
    assert looked_up == ["KF1001"]
    first, second = (r.body for r in server.requests)
    assert first["tools"][0]["type"] == "function"
    assert first["tools"][0]["function"]["name"] == "order_status"
    assert first["tools"][0]["function"]["parameters"]["required"] == ["order_no"]
    call, observation = second["messages"][-2:]
    assert call["tool_calls"][0]["function"]["name"] == "order_status"
    assert observation["role"] == "tool"
    assert observation["tool_call_id"] == call["tool_calls"][0]["id"]
    assert json.loads(observation["content"])["status"] == "shipped"
    await backend.close()


def unsupported(param: str) -> Fail:
    """What OpenAI answers when a reasoning model gets a field it does not take."""
    return Fail(
        400,
        message=f"Unsupported parameter: '{param}' is not supported with this model.",
        param=param,
        code="unsupported_parameter",
    )


async def test_reasoning_model_gets_max_completion_tokens_and_no_sampling_settings(
    server: FakeOpenAIServer,
) -> None:
    server.enqueue(unsupported("max_tokens"), unsupported("temperature"), Reply("Shipped."))
    backend = backend_for(server.base_url, max_retries=0, max_new_tokens=64)

    first = await backend.complete(QUESTION)
    second = await backend.complete(QUESTION)

    assert (first.text, second.text) == ("Shipped.", "Hello from the fake model.")
    adapted = server.requests[2].body
    assert adapted["max_completion_tokens"] == 64
    assert "max_tokens" not in adapted and "temperature" not in adapted
    assert server.requests[3].body.keys() == adapted.keys()  # remembered, no more 400s
    await backend.close()


async def test_other_bad_requests_are_not_retried(server: FakeOpenAIServer) -> None:
    server.enqueue(Fail(400, message="messages: too long", param="messages", code="bad"))
    backend = backend_for(server.base_url, max_retries=0)
    with pytest.raises(LLMError, match="HTTP 400"):
        await backend.complete(QUESTION)
    assert len(server.requests) == 1
    await backend.close()


async def test_configured_token_field_is_sent_as_is(server: FakeOpenAIServer) -> None:
    backend = backend_for(
        server.base_url, token_limit_field="max_completion_tokens", max_new_tokens=32
    )
    await backend.complete(QUESTION)
    assert server.requests[0].body["max_completion_tokens"] == 32
    assert "max_tokens" not in server.requests[0].body
    await backend.close()
