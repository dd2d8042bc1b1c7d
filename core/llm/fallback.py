"""When the model fails, the customer still gets an answer: the extractive one.

Two pieces:

- :class:`FailSafeBackend` wraps any backend so that every failure (an SDK error, a timeout,
  a bug) surfaces as :class:`LLMError`, and after a few failures in a row it stops calling the
  model for a cool-down, so customers get the extractive answer at once instead of each
  waiting for a timeout while the model server is down.
- :func:`with_fallback` runs the generative path and, on :class:`LLMError`, the extractive
  one, telling the caller which one answered.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import structlog

from core.errors import LLMError
from core.llm.base import ChatBackend, ChatMessage, ChatResult, ToolSpec, closing_stream

log = structlog.get_logger(__name__)

T = TypeVar("T")


class FailSafeBackend:
    """A :class:`ChatBackend` that only ever fails with :class:`LLMError`, and fails fast
    while the model is known to be down."""

    def __init__(
        self,
        inner: ChatBackend,
        *,
        cooldown_s: float = 30.0,
        failures_to_trip: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self._cooldown_s = cooldown_s
        self._failures_to_trip = failures_to_trip
        self._clock = clock
        self._failures = 0
        self._skip_until = 0.0

    @property
    def available(self) -> bool:
        """False during a cool-down after repeated failures."""
        return self._clock() >= self._skip_until

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        tools: Sequence[ToolSpec] | None = None,
        max_tokens: int | None = None,
    ) -> ChatResult:
        """See :meth:`ChatBackend.complete`."""
        self._check_available()
        try:
            result = await self.inner.complete(messages, tools=tools, max_tokens=max_tokens)
        except Exception as e:
            raise self._failed(e) from e
        self._failures = 0
        return result

    async def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int | None = None
    ) -> AsyncIterator[str]:
        """See :meth:`ChatBackend.stream`."""
        self._check_available()
        try:
            async with closing_stream(self.inner.stream(messages, max_tokens=max_tokens)) as inner:
                async for piece in inner:
                    yield piece
        except Exception as e:
            raise self._failed(e) from e
        self._failures = 0

    async def close(self) -> None:
        await self.inner.close()

    async def load(self) -> None:
        """Warms the model up where the backend has a load step (a local model); the
        errors are :meth:`TransformersBackend.load`'s."""
        load = getattr(self.inner, "load", None)
        if load is not None:
            await load()

    def _check_available(self) -> None:
        if not self.available:
            raise LLMError(f"{self.name} is skipped after {self._failures} failures in a row")

    def _failed(self, error: Exception) -> LLMError:
        self._failures += 1
        if self._failures >= self._failures_to_trip:
            self._skip_until = self._clock() + self._cooldown_s
            log.warning("llm.cooldown", backend=self.name, failures=self._failures)
        if isinstance(error, LLMError):
            return error
        log.warning("llm.unexpected_error", backend=self.name, error=type(error).__name__)
        return LLMError(f"{self.name} failed: {type(error).__name__}")


@dataclass(slots=True, frozen=True)
class Answered(Generic[T]):
    """What answered: the model (``fell_back`` false) or the extractive fallback."""

    value: T
    fell_back: bool
    reason: str | None = None


async def with_fallback(
    generate: Callable[[], Awaitable[T]],
    fallback: Callable[[], T | Awaitable[T]],
) -> Answered[T]:
    """Runs ``generate``; if it fails (:class:`LLMError`, or any bug) runs ``fallback``.

    If ``generate`` streamed part of an answer before failing, the customer has seen those
    pieces; the caller should send the fallback as a new message (or replace the partial one
    where the platform can edit messages).

    Args:
        generate: the generative answer, e.g. ``lambda: generate_grounded_answer(...)``.
        fallback: the extractive answer (sync or async).
    """
    try:
        return Answered(await generate(), fell_back=False)
    except LLMError as e:
        log.warning("llm.fallback", reason=str(e))
        reason = str(e)
    except Exception as e:  # a bug in the generative path must not cost the customer an answer
        log.exception("llm.fallback.unexpected", error=type(e).__name__)
        reason = f"unexpected {type(e).__name__}"
    value = fallback()
    if inspect.isawaitable(value):
        value = await value
    return Answered(value, fell_back=True, reason=reason)  # type: ignore[arg-type]
