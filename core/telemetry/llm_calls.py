"""A record of every language-model call: one log line, one stored row, the metrics.

:class:`RecordedBackend` wraps the configured backend (outside :class:`FailSafeBackend`, so a
call skipped during its cool-down is recorded as ``refused``). What the call was for comes from
:func:`llm_purpose` around the call site; the conversation from the turn in progress.

Outcomes: ``ok``; ``timeout`` (the model did not answer in time); ``refused`` (not called:
the model is cooling down after repeated failures); ``fallback`` (any other failure). Every
caller in Kefu answers without the model when a call fails (extractive answer, rule-based
rewrite, template reply), so each failed call is also counted in ``kefu_llm_fallbacks_total``.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence

import structlog

from core.errors import StorageError
from core.llm.base import ChatBackend, ChatMessage, ChatResult, ToolSpec, closing_stream
from core.telemetry.llm_records import LLMCall
from core.telemetry.metrics import (
    LLM_CALLS,
    LLM_ERRORS,
    LLM_FALLBACKS,
    LLM_FIRST_TOKEN_SECONDS,
    LLM_SECONDS,
    LLM_TOKENS,
)
from core.telemetry.turns import current_conversation
from core.types import utcnow

log = structlog.get_logger("kefu.llm")

CallSink = Callable[[LLMCall], Awaitable[None]]
"""Stores one call record (``LLMCallStore.add``)."""

_purpose: contextvars.ContextVar[str] = contextvars.ContextVar("kefu_llm_purpose", default="answer")


@contextlib.contextmanager
def llm_purpose(purpose: str) -> Iterator[None]:
    """Marks the model calls made inside the block: answer, rewrite, tool, entities, summary."""
    token = _purpose.set(purpose)
    try:
        yield
    finally:
        _purpose.reset(token)


def outcome_of_error(error: BaseException) -> str:
    """timeout when a timeout is anywhere in the cause chain, else fallback."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not e for e in chain):  # chains can loop
        chain.append(current)
        current = current.__cause__ or current.__context__
    timeout = any(isinstance(e, TimeoutError) or "Timeout" in type(e).__name__ for e in chain)
    return "timeout" if timeout else "fallback"


class _Call:
    """Timing and counting of one call in progress."""

    def __init__(self, backend: RecordedBackend) -> None:
        self.backend = backend
        self.purpose = _purpose.get()
        self.started = time.perf_counter()
        self.first_token_s: float | None = None

    def first_piece(self) -> None:
        if self.first_token_s is None:
            self.first_token_s = time.perf_counter() - self.started

    async def finish(
        self, outcome: str, result: ChatResult | None = None, error: BaseException | None = None
    ) -> None:
        latency = time.perf_counter() - self.started
        usage = result.usage if result is not None else None
        call = LLMCall(
            created_at=utcnow(),
            model=self.backend.model,
            backend=self.backend.kind,
            purpose=self.purpose,
            outcome=outcome,
            latency_ms=round(latency * 1000, 1),
            first_token_ms=None
            if self.first_token_s is None
            else round(self.first_token_s * 1000, 1),
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
            conversation_key=current_conversation(),
            error=None if error is None else f"{type(error).__name__}: {error}"[:500],
        )
        _count(call, latency, self.first_token_s, error)
        log.info("llm.call", **{k: v for k, v in call.to_json().items() if k != "created_at"})
        await self.backend.store(call)


def _count(
    call: LLMCall, latency: float, first_token: float | None, error: BaseException | None
) -> None:
    model, purpose = call.model, call.purpose
    LLM_CALLS.labels(model=model, purpose=purpose, outcome=call.outcome).inc()
    LLM_SECONDS.labels(model=model, purpose=purpose).observe(latency)
    if first_token is not None:
        LLM_FIRST_TOKEN_SECONDS.labels(model=model, purpose=purpose).observe(first_token)
    if call.prompt_tokens:
        LLM_TOKENS.labels(model=model, kind="prompt").inc(call.prompt_tokens)
    if call.completion_tokens:
        LLM_TOKENS.labels(model=model, kind="completion").inc(call.completion_tokens)
    if error is not None:
        LLM_ERRORS.labels(model=model, error=type(error).__name__).inc()
        LLM_FALLBACKS.labels(model=model, purpose=purpose).inc()


class RecordedBackend:
    """A :class:`ChatBackend` that records every call of the backend it wraps.

    Args:
        inner: the backend (normally a :class:`FailSafeBackend`).
        sink: stores each record; a storage failure is logged, never raised to the caller.
    """

    def __init__(self, inner: ChatBackend, sink: CallSink | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self.kind, _, model = inner.name.partition(":")
        self.model = model or inner.name
        self._sink = sink

    @property
    def available(self) -> bool:
        return bool(getattr(self.inner, "available", True))

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        tools: Sequence[ToolSpec] | None = None,
        max_tokens: int | None = None,
    ) -> ChatResult:
        """See :meth:`ChatBackend.complete`."""
        call = _Call(self)
        refused = not self.available
        try:
            result = await self.inner.complete(messages, tools=tools, max_tokens=max_tokens)
        except Exception as e:
            await call.finish("refused" if refused else outcome_of_error(e), error=e)
            raise
        await call.finish("ok", result)
        return result

    async def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int | None = None
    ) -> AsyncIterator[str]:
        """See :meth:`ChatBackend.stream`; a stream the reader stops early counts as ok."""
        call = _Call(self)
        refused = not self.available
        try:
            async with closing_stream(self.inner.stream(messages, max_tokens=max_tokens)) as inner:
                async for piece in inner:
                    call.first_piece()
                    yield piece
        except GeneratorExit:
            await call.finish("ok")
            raise
        except Exception as e:
            await call.finish("refused" if refused else outcome_of_error(e), error=e)
            raise
        await call.finish("ok")

    async def load(self) -> None:
        load = getattr(self.inner, "load", None)
        if load is not None:
            await load()

    async def close(self) -> None:
        await self.inner.close()

    async def store(self, call: LLMCall) -> None:
        if self._sink is None:
            return
        try:
            await self._sink(call)
        except StorageError:
            log.warning("llm.call.not_stored", model=call.model, purpose=call.purpose)


def record_llm_calls(backend: ChatBackend | None, sink: CallSink | None) -> ChatBackend | None:
    """``backend`` wrapped in a :class:`RecordedBackend` (``None`` stays ``None``)."""
    return None if backend is None else RecordedBackend(backend, sink)
