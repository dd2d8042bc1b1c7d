"""Plain, frozen records returned by the stores: no ORM object ever leaves core/storage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.types import ConversationKey


@dataclass(slots=True, frozen=True)
class ConversationRecord:
    """One conversation as stored.

    ``status`` is ``"bot"`` until the handoff room moves it (``waiting``, ``assigned``,
    ``closed``); ``state`` holds session data such as dialogue slots (JSON values only).
    """

    id: int
    key: ConversationKey
    status: str
    state: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    """Last activity: bumped by every appended event, state save and status change."""
    display_name: str | None = None
    """The customer's name on the platform, when an adapter provided one."""


@dataclass(slots=True, frozen=True)
class EventRecord:
    """One entry of a conversation's append-only log. ``id`` orders the log."""

    id: int
    conversation_id: int
    kind: str
    """An ``EventKind`` value (a ``StrEnum``, so ``record.kind == EventKind.BOT_REPLY`` works)."""
    text: str | None
    payload: dict[str, Any]
    created_at: datetime
