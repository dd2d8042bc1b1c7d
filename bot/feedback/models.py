"""Tables of the feedback room, declared on the store's ``Base`` (migration ``0004_feedback``)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.storage.models import Base, EventId, JSONDocument


class CandidateStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class GoldCandidate(Base):
    """A (customer question, agent answer) pair waiting for review, or reviewed.

    One row per customer question (``question_event_id``), so deriving candidates from the
    event log again never duplicates them.
    """

    __tablename__ = "gold_candidates"
    __table_args__ = (Index(None, "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    conversation_key: Mapped[str] = mapped_column(String(1024))
    question_event_id: Mapped[int] = mapped_column(EventId, unique=True)
    answer_event_id: Mapped[int] = mapped_column(EventId)
    trigger: Mapped[str] = mapped_column(String(16))
    """Why the bot's answer needed a human: ``dont_know`` or ``down`` (a 👎)."""
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    context: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument, default=list)
    """Earlier turns of the conversation: ``[{"role": "user"|"assistant", "content"}]``."""
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(
        String(16), default=CandidateStatus.PENDING.value, server_default="pending"
    )
    reason: Mapped[str | None] = mapped_column(Text)
    reviewer: Mapped[str | None] = mapped_column(String(255))
    faq_id: Mapped[str | None] = mapped_column(String(255))
    asked_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    reviewed_at: Mapped[datetime | None]


class ScanCursor(Base):
    """How far a scanner has read the event log (the last event id it handled)."""

    __tablename__ = "feedback_scan_cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(EventId, default=0)
