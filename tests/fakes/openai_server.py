"""A small OpenAI-protocol chat completions server on 127.0.0.1 for tests.

It speaks ``POST /v1/chat/completions`` (OpenAI, vLLM, Ollama) and
``POST /openai/deployments/{deployment}/chat/completions`` (Azure), answers with JSON or
server-sent events, records every request, and follows a script of behaviours::

    async with FakeOpenAIServer() as server:
        server.enqueue(Fail(429), Reply("Hello [1]"))
        ...  # point the real openai SDK at server.base_url
        assert len(server.requests) == 2
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import web


@dataclass(slots=True, frozen=True)
class Reply:
    """A normal answer, optionally with tool calls, optionally slow.

    ``tool_calls`` are ``(name, arguments)`` pairs. ``delay_s`` waits before the headers;
    ``chunk_delay_s`` waits between streamed pieces.
    """

    text: str = "Hello from the fake model."
    tool_calls: Sequence[tuple[str, Mapping[str, Any]]] = ()
    delay_s: float = 0.0
    chunk_delay_s: float = 0.0
    finish_reason: str | None = None
    """Default: ``tool_calls`` with tool calls, else ``stop``."""
    stream_without_finish: bool = False
    """Streams end cleanly after ``[DONE]`` but no chunk carries a finish reason."""


@dataclass(slots=True, frozen=True)
class Fail:
    """An HTTP error with OpenAI's error body.

    ``retry_after_ms`` is sent as the ``retry-after-ms`` header (which the SDK honours) so that
    retry tests take milliseconds; ``None`` sends no header.
    """

    status: int
    message: str = "simulated failure"
    retry_after_ms: int | None = 10
    param: str | None = None
    """The request field the error is about, as OpenAI names it in 400s."""
    code: str | None = None
    """OpenAI's error code, e.g. ``unsupported_parameter``; default: the status."""


@dataclass(slots=True, frozen=True)
class BreakStream:
    """Streams ``pieces_before_break`` pieces of ``text``, then drops the connection."""

    text: str = "This answer will be cut off halfway through."
    pieces_before_break: int = 2


Behaviour = Reply | Fail | BreakStream


@dataclass(slots=True)
class RecordedRequest:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeOpenAIServer:
    """Runs on a free port of 127.0.0.1; use as an async context manager."""

    default: Behaviour = field(default_factory=Reply)
    requests: list[RecordedRequest] = field(default_factory=list)
    _script: deque[Behaviour] = field(default_factory=deque)
    _runner: web.AppRunner | None = None
    _port: int = 0

    def enqueue(self, *behaviours: Behaviour) -> None:
        """Next requests get these behaviours in order; after that, ``default``."""
        self._script.extend(behaviours)

    def next_default(self) -> Behaviour:
        """The behaviour of a request when the script is empty (subclasses may vary it)."""
        return self.default

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def base_url(self) -> str:
        """What OpenAI-compatible clients take as ``base_url``."""
        return f"{self.root_url}/v1"

    async def __aenter__(self) -> FakeOpenAIServer:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._handle)
        app.router.add_post("/openai/deployments/{deployment}/chat/completions", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self._port = server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(
            RecordedRequest(
                path=request.path,
                query=dict(request.query),
                headers={k.lower(): v for k, v in request.headers.items()},
                body=body,
            )
        )
        behaviour = self._script.popleft() if self._script else self.next_default()
        if isinstance(behaviour, Fail):
            return _error_response(behaviour)
        if isinstance(behaviour, BreakStream):
            return await _broken_stream(request, behaviour, body)
        await asyncio.sleep(behaviour.delay_s)
        if body.get("stream"):
            return await _stream(request, behaviour, body)
        return web.json_response(_completion(behaviour, body))


def _error_response(fail: Fail) -> web.Response:
    headers = {} if fail.retry_after_ms is None else {"retry-after-ms": str(fail.retry_after_ms)}
    error = {
        "message": fail.message,
        "type": "invalid_request_error" if fail.status == 400 else "fake_error",
        "param": fail.param,
        "code": fail.code or fail.status,
    }
    payload = {"error": error}
    return web.json_response(payload, status=fail.status, headers=headers)


def _tool_calls_json(reply: Reply) -> list[dict[str, Any]]:
    return [
        {
            "id": f"call_{i}",
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(args, ensure_ascii=False)},
        }
        for i, (name, args) in enumerate(reply.tool_calls)
    ]


def _completion(reply: Reply, body: Mapping[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    if reply.tool_calls:
        message["tool_calls"] = _tool_calls_json(reply)
    finish = reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": 11,
            "completion_tokens": len(reply.text.split()),
            "total_tokens": 11 + len(reply.text.split()),
        },
    }


def _pieces(text: str) -> list[str]:
    """Splits after each space (or each character for text without spaces)."""
    if " " not in text:
        return list(text)
    words = text.split(" ")
    return [w + " " for w in words[:-1]] + [words[-1]]


def _chunk(body: Mapping[str, Any], delta: dict[str, Any], finish: str | None) -> bytes:
    payload = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()


async def _start_sse(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    return response


async def _stream(
    request: web.Request, reply: Reply, body: Mapping[str, Any]
) -> web.StreamResponse:
    response = await _start_sse(request)
    await response.write(_chunk(body, {"role": "assistant", "content": ""}, None))
    for piece in _pieces(reply.text):
        await asyncio.sleep(reply.chunk_delay_s)
        await response.write(_chunk(body, {"content": piece}, None))
    if reply.tool_calls:
        calls = [dict(c, index=i) for i, c in enumerate(_tool_calls_json(reply))]
        await response.write(_chunk(body, {"tool_calls": calls}, None))
    finish = reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")
    if not reply.stream_without_finish:
        await response.write(_chunk(body, {}, finish))
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


async def _broken_stream(
    request: web.Request, broken: BreakStream, body: Mapping[str, Any]
) -> web.StreamResponse:
    response = await _start_sse(request)
    for piece in _pieces(broken.text)[: broken.pieces_before_break]:
        await response.write(_chunk(body, {"content": piece}, None))
    await asyncio.sleep(0.05)
    assert request.transport is not None
    request.transport.abort()  # no final chunk, no [DONE]: the client sees a cut connection
    return response
