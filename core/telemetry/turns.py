"""One handled message: its outcome, its step timings, one log line and the metrics.

The pipeline needs three one-line call sites:

- ``@timed_turn`` on the method that turns an :class:`IncomingMessage` into its replies;
- ``with observe_step("understand"):`` around each step worth timing;
- nothing else: :func:`timed_turn` logs ``pipeline.turn`` and counts the message.

The step timings of the turn in progress live in a context variable, so a step deep inside
the pipeline does not need the turn passed to it, and concurrent turns do not mix.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, TypeVar, cast

import structlog

from core.telemetry.metrics import MESSAGES, RETRIEVAL_SECONDS, STEP_SECONDS, TURN_SECONDS
from core.types import IncomingMessage, OutgoingMessage

log = structlog.get_logger("kefu.turn")

OUTCOMES = frozenset({"faq", "passage", "generated", "dont_know", "handoff", "error"})
"""Answer kinds counted under their own name; everything else is ``other``."""

_steps: contextvars.ContextVar[dict[str, float] | None] = contextvars.ContextVar(
    "kefu_turn_steps", default=None
)
_conversation: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "kefu_conversation", default=None
)

H = TypeVar("H", bound=Callable[..., Awaitable[list[OutgoingMessage]]])


def current_conversation() -> str | None:
    """The conversation key of the turn in progress (for LLM call records)."""
    return _conversation.get()


@contextlib.contextmanager
def observe_step(step: str) -> Iterator[None]:
    """Times one pipeline step into ``kefu_turn_step_seconds`` and the turn's log line.

    A step run twice in one turn (two searches) is added up in the log line.
    """
    started = time.perf_counter()
    try:
        yield
    finally:
        seconds = time.perf_counter() - started
        STEP_SECONDS.labels(step=step).observe(seconds)
        if step == "retrieve":
            RETRIEVAL_SECONDS.observe(seconds)
        steps = _steps.get()
        if steps is not None:
            steps[step] = steps.get(step, 0.0) + seconds


def outcome_of(replies: Sequence[OutgoingMessage]) -> str:
    """faq, passage, generated, dont_know, handoff, error or other, from the first reply
    that says what kind of answer it is; ``none`` when nothing was replied (a duplicate or a
    message relayed to a human agent)."""
    if not replies:
        return "none"
    for reply in replies:
        kind = reply.custom.get("answer_kind")
        if kind is not None:
            return str(kind) if str(kind) in OUTCOMES else "other"
    return "other"


def record_turn(
    channel: str,
    outcome: str,
    seconds: float,
    steps: dict[str, float] | None = None,
    **context: Any,
) -> None:
    """Counts one handled message and writes its one ``pipeline.turn`` log line."""
    MESSAGES.labels(channel=channel, outcome=outcome).inc()
    TURN_SECONDS.labels(channel=channel).observe(seconds)
    timings = {name: round(value * 1000, 1) for name, value in (steps or {}).items()}
    log.info(
        "pipeline.turn",
        channel=channel,
        outcome=outcome,
        ms=round(seconds * 1000, 1),
        steps_ms=timings,
        **context,
    )


def timed_turn(handle: H) -> H:
    """Decorates ``Pipeline.handle(self, message, ...)``: times the turn, records its outcome
    and binds the conversation key for the LLM call records written during it."""

    @functools.wraps(handle)
    async def timed(
        self: object, message: IncomingMessage, *args: Any, **kwargs: Any
    ) -> list[OutgoingMessage]:
        steps: dict[str, float] = {}
        key = message.key.as_str()
        steps_token = _steps.set(steps)
        key_token = _conversation.set(key)
        started = time.perf_counter()
        outcome = "error"
        try:
            replies = await handle(self, message, *args, **kwargs)
            outcome = outcome_of(replies)
            return replies
        finally:
            record_turn(
                message.key.platform,
                outcome,
                time.perf_counter() - started,
                steps,
                conversation=key,
                message_id=message.message_id,
            )
            _steps.reset(steps_token)
            _conversation.reset(key_token)

    return cast(H, timed)
