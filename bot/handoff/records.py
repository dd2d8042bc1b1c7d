"""Frozen records of the handoff room, as its stores return them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from core.types import ConversationKey


class Reason(StrEnum):
    """Why a conversation went to a human; recorded in the HANDOFF event and the queue."""

    CUSTOMER_REQUEST = "customer_request"
    FAILED_ANSWERS = "failed_answers"
    COMPLAINT = "complaint"
    FRUSTRATION = "frustration"
    ADMIN = "admin"


class Priority:
    """Queue order: higher first, then oldest first."""

    NORMAL = 0
    HIGH = 1


REASON_PRIORITY = {
    Reason.CUSTOMER_REQUEST: Priority.NORMAL,
    Reason.FAILED_ANSWERS: Priority.NORMAL,
    Reason.COMPLAINT: Priority.HIGH,
    Reason.FRUSTRATION: Priority.HIGH,
    Reason.ADMIN: Priority.HIGH,
}


@dataclass(slots=True, frozen=True)
class HandoffRecord:
    """One stay of a conversation with the humans."""

    id: int
    key: ConversationKey
    state: str
    """``waiting``, ``assigned`` or ``closed``."""
    priority: int
    reason: str
    language: str
    agent_id: int | None
    summary: dict[str, Any]
    resolution: str | None
    created_at: datetime
    claimed_at: datetime | None
    closed_at: datetime | None
    notified_at: datetime | None
    customer_name: str | None = None


@dataclass(slots=True, frozen=True)
class AgentRecord:
    """A human agent; credentials never leave the store."""

    id: int
    name: str
    active: bool
    online: bool
    last_seen: datetime | None
    created_at: datetime
    has_password: bool
    has_token: bool
