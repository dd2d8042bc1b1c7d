"""One turn's writes to the event log, held back until the turn commits them all at once.

The conversation runner opens a :func:`turn_scope` around the pipeline. Inside it,
:class:`~core.storage.ConversationStore` keeps that conversation's new events and state in
the :class:`TurnBuffer` (reads see them) and writes nothing; the runner then commits the
buffer, the turn's outbox rows and the inbox's "answered" mark in one transaction. A crash
before that commit leaves the message unanswered, so it is answered again, not half-recorded.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.storage.records import EventRecord
from core.types import ConversationKey


@dataclass(slots=True)
class TurnBuffer:
    """What one turn wrote for its conversation, not yet committed."""

    key: ConversationKey
    events: list[EventRecord] = field(default_factory=list)
    state: dict[str, Any] | None = None
    closed: bool = False
    """Set once committed (or abandoned): later writes, e.g. from a task the turn started,
    go straight to the database."""

    def add_event(
        self, kind: str, text: str | None, payload: Mapping[str, Any], now: datetime
    ) -> EventRecord:
        # Provisional ids are negative: nothing may store them; the commit assigns real ones.
        record = EventRecord(
            id=-(len(self.events) + 1),
            conversation_id=0,
            kind=kind,
            text=text,
            payload=dict(payload),
            created_at=now,
        )
        self.events.append(record)
        return record


_CURRENT: ContextVar[TurnBuffer | None] = ContextVar("kefu_turn_buffer", default=None)


@contextmanager
def turn_scope(key: ConversationKey) -> Iterator[TurnBuffer]:
    """Buffers the writes for ``key`` made inside the block (and in tasks it starts)."""
    buffer = TurnBuffer(key)
    token = _CURRENT.set(buffer)
    try:
        yield buffer
    finally:
        _CURRENT.reset(token)


def open_buffer(key: ConversationKey) -> TurnBuffer | None:
    """The uncommitted turn buffer for ``key`` in this context, if any."""
    buffer = _CURRENT.get()
    if buffer is None or buffer.closed or buffer.key != key:
        return None
    return buffer
