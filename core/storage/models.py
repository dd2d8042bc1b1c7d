"""Declarative models of the conversation store.

The same models run on SQLite and PostgreSQL: JSON columns become JSONB on PostgreSQL, and
timestamps are stored in UTC and always come back timezone-aware (SQLite keeps no zone).
Other rooms may declare their own tables on :class:`Base` and add a migration branch with
``down_revision = "0001_initial"``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so later migrations (and SQLite batch mode) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONDocument = JSON().with_variant(JSONB(), "postgresql")
"""A JSON column type: JSONB on PostgreSQL, JSON text elsewhere."""

EventId = BigInteger().with_variant(Integer(), "sqlite")
"""BIGINT on PostgreSQL; SQLite only autoincrements an ``INTEGER PRIMARY KEY``."""


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC that is always read back timezone-aware.

    Naive datetimes are refused on write: guessing their zone would silently shift the log.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware datetime")
        value = value.astimezone(UTC)
        # SQLite stores text without an offset; keep it naive UTC so comparisons sort correctly.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONDocument,
    }


class Customer(Base):
    """A person on one platform; one customer can have several conversations (chats, threads)."""

    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("platform", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]


class Conversation(Base):
    """One conversation, identified by ``ConversationKey.as_str()``."""

    __tablename__ = "conversations"
    __table_args__ = (Index(None, "status"), Index(None, "updated_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(1024), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    thread_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32), default="bot", server_default="bot")
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Event(Base):
    """One entry of a conversation's append-only log; ``id`` is the order of the log."""

    __tablename__ = "events"
    __table_args__ = (
        # Serves "events of one conversation, in order" and the last-N query.
        Index("ix_events_conversation_id", "conversation_id", "id"),
        Index(None, "created_at"),
        {"sqlite_autoincrement": True},  # never reuse an id, even after deletes
    )

    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(64))
    text: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]


class InboxMessage(Base):
    """A customer message as received, with its processing state (``received`` until the
    turn that answers it commits, then ``answered``). ``id`` is the arrival order."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("platform", "message_id"),
        Index(None, "conversation_key", "state", "id"),
        Index(None, "state", "received_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(255))
    conversation_key: Mapped[str] = mapped_column(String(1024))
    state: Mapped[str] = mapped_column(String(16))
    message: Mapped[dict[str, Any]]
    received_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]


class OutboxMessage(Base):
    """A message to a customer (bot, agent or system), stored before it is sent.

    ``pending`` until the platform took it (``sent``) or gave up on it (``failed``); push
    platforms are retried until ``next_attempt_at``, pull channels (REST, web) take it.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index(None, "conversation_key", "state", "id"),
        Index(None, "state", "next_attempt_at"),
        Index(None, "inbox_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    conversation_key: Mapped[str] = mapped_column(String(1024))
    platform: Mapped[str] = mapped_column(String(64))
    inbox_id: Mapped[int | None] = mapped_column(EventId)
    reply_id: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    message: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class RateWindow(Base):
    """Messages one customer sent in one minute, shared by every worker."""

    __tablename__ = "rate_windows"

    name: Mapped[str] = mapped_column(String(400), primary_key=True)
    window: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    """Minutes since the epoch."""
    hits: Mapped[int] = mapped_column(Integer)


class SharedValue(Base):
    """Small state several workers must agree on, with an expiry: long button payloads,
    numbered options offered on WeCom."""

    __tablename__ = "shared_values"
    __table_args__ = (Index(None, "expires_at"),)

    namespace: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[dict[str, Any]]
    expires_at: Mapped[datetime]
