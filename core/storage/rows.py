"""Row-level building blocks of the stores: race-free inserts, creating a conversation on
first contact, and turning ORM rows into plain records.

Other rooms' stores may use :func:`insert_ignore` for their own "first one wins" tables.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

import structlog
from sqlalchemy import CursorResult, Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from core.storage.models import Conversation, Customer, Event
from core.storage.records import ConversationRecord, EventRecord
from core.types import ConversationKey

log = structlog.get_logger(__name__)

SUPPORTED_BACKENDS = ("postgresql", "sqlite")


async def insert_ignore(session: AsyncSession, table: Any, values: Mapping[str, Any]) -> bool:
    """``INSERT ... ON CONFLICT DO NOTHING`` on SQLite and PostgreSQL.

    A concurrent insert of the same unique key (another task or worker) is not an error: the
    database keeps exactly one row, and only one caller sees True.

    Args:
        session: the session (and transaction) to insert in.
        table: a ``Table``, or a model's ``__table__``.
        values: the row.

    Returns:
        True if this call inserted the row, False if a row with the same key existed.

    Raises:
        ValueError: on a backend other than SQLite or PostgreSQL.
    """
    target = cast(Table, table)
    backend = session.get_bind().dialect.name
    statement: postgresql.Insert | sqlite.Insert
    if backend == "postgresql":
        statement = postgresql.insert(target).values(**values).on_conflict_do_nothing()
    elif backend == "sqlite":
        statement = sqlite.insert(target).values(**values).on_conflict_do_nothing()
    else:
        raise ValueError(f"unsupported database backend {backend!r}: use sqlite or postgresql")
    result = cast(CursorResult[Any], await session.execute(statement))
    return result.rowcount == 1


async def ensure_conversation(
    session: AsyncSession,
    key: ConversationKey,
    now: datetime,
    display_name: str | None = None,
) -> int:
    """The id of the conversation for ``key``, inserting the customer and conversation rows
    that are missing (and storing a changed ``display_name``)."""
    query = select(Conversation.id).where(Conversation.key == key.as_str())
    if display_name is None:
        existing = (await session.scalars(query)).one_or_none()
        if existing is not None:
            return existing
    conversation = {
        "key": key.as_str(),
        "customer_id": await _ensure_customer(session, key, now, display_name),
        "platform": key.platform,
        "chat_id": key.chat_id,
        "user_id": key.user_id,
        "thread_id": key.thread_id,
        "state": {},
        "created_at": now,
        "updated_at": now,
    }
    if await insert_ignore(session, Conversation.__table__, conversation):
        log.debug("storage.conversation.created", key=key.as_str())
    return (await session.scalars(query)).one()


async def _ensure_customer(
    session: AsyncSession, key: ConversationKey, now: datetime, display_name: str | None
) -> int:
    values = {"platform": key.platform, "user_id": key.user_id, "created_at": now}
    if display_name:
        values["display_name"] = display_name
    created = await insert_ignore(session, Customer.__table__, values)
    same_customer = (Customer.platform == key.platform) & (Customer.user_id == key.user_id)
    if display_name and not created:
        await session.execute(
            update(Customer)
            .where(same_customer, Customer.display_name.is_distinct_from(display_name))
            .values(display_name=display_name)
        )
    return (await session.scalars(select(Customer.id).where(same_customer))).one()


def json_document(value: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON copy of ``value``: exactly what will be read back (tuples become lists).

    Raises:
        TypeError: for values JSON cannot hold (a programming error, not a database one).
        ValueError: for NaN or infinity, which PostgreSQL's JSONB refuses.
    """
    document: dict[str, Any] = json.loads(json.dumps(dict(value), allow_nan=False))
    return document


def require_aware(moment: datetime) -> None:
    """Raises ValueError for a naive datetime: guessing its zone would shift the log."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: pass a timezone-aware datetime")


def conversation_record(row: Conversation, display_name: str | None) -> ConversationRecord:
    return ConversationRecord(
        id=row.id,
        key=ConversationKey(row.platform, row.chat_id, row.user_id, row.thread_id),
        status=row.status,
        state=dict(row.state),
        created_at=row.created_at,
        updated_at=row.updated_at,
        display_name=display_name,
    )


def event_record(row: Event) -> EventRecord:
    return EventRecord(
        id=row.id,
        conversation_id=row.conversation_id,
        kind=row.kind,
        text=row.text,
        payload=dict(row.payload),
        created_at=row.created_at,
    )
