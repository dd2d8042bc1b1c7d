"""Tables of the handoff room: the queue of handed-off conversations and the human agents.

Declared on the shared :class:`core.storage.models.Base`; created by the ``0003_handoff``
migration. ORM rows never leave this package: the stores return frozen records.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, false, text, true
from sqlalchemy.orm import Mapped, mapped_column

from core.storage.models import Base

WAITING = "waiting"
ASSIGNED = "assigned"
CLOSED = "closed"
OPEN_STATES = (WAITING, ASSIGNED)

# At most one open (waiting or assigned) handoff per conversation: the database refuses a
# second one even when two workers escalate the same conversation at once.
OPEN_ONLY = text("state <> 'closed'")


class Agent(Base):
    """A human agent who can log in to the workspace."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    online: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    last_seen: Mapped[datetime | None]
    created_at: Mapped[datetime]


class Handoff(Base):
    """One stay of a conversation with the humans: from escalation until closed or cancelled."""

    __tablename__ = "handoffs"
    __table_args__ = (
        Index(
            "uq_handoffs_open_conversation",
            "conversation_id",
            unique=True,
            sqlite_where=OPEN_ONLY,
            postgresql_where=OPEN_ONLY,
        ),
        Index("ix_handoffs_queue", "state", "priority", "created_at"),
        Index("ix_handoffs_agent_id", "agent_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    resolution: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    notified_at: Mapped[datetime | None]
    """When the waiting customer was last told their place in the queue."""
