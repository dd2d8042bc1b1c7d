"""The durable inbox: every customer message is recorded before it is handled.

A message is ``received`` until the turn that answers it commits (``answered``, in the same
transaction as the replies). A redelivery of a received message is handled; of an answered
one, it is not, and its stored replies are what the customer gets. ``id`` is the arrival
order that the conversation runner follows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from core.storage.db import Database, storage_errors
from core.storage.models import InboxMessage, RateWindow
from core.storage.rows import insert_ignore, json_document, require_aware
from core.types import IncomingMessage, utcnow

RECEIVED = "received"
ANSWERED = "answered"


@dataclass(slots=True, frozen=True)
class InboxEntry:
    """One recorded message."""

    id: int
    state: str
    message: IncomingMessage
    received_at: datetime

    @property
    def answered(self) -> bool:
        return self.state == ANSWERED


@dataclass(slots=True, frozen=True)
class Arrival:
    """What recording a message found out."""

    entry: InboxEntry
    first_time: bool
    """False for a redelivery (answered or not)."""
    hits_this_minute: int
    """Messages this customer sent in the current minute, this one included (0 if not counted)."""


class InboxStore:
    """Records arrivals and finds the ones still to answer.

    Args:
        database: the migrated database.
        clock: the current timezone-aware time.
    """

    def __init__(self, database: Database, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._db = database
        self._clock = clock

    async def record(self, message: IncomingMessage, *, rate_name: str | None) -> Arrival:
        """Stores ``message`` (once per platform message id) and counts it against the
        sender's rate window ``rate_name``, in one transaction.

        Raises:
            StorageError: the database failed; nothing was recorded.
        """
        now = self._clock()
        values = {
            "platform": message.key.platform,
            "message_id": message.message_id[:255],
            "conversation_key": message.key.as_str(),
            "state": RECEIVED,
            "message": json_document(message.to_json()),
            "received_at": now,
        }
        with storage_errors("record a message"):
            async with self._db.sessions() as session, session.begin():
                first = await insert_ignore(session, InboxMessage.__table__, values)
                hits = await _count(session, rate_name, now) if first and rate_name else 0
                row = (
                    await session.scalars(
                        select(InboxMessage).where(
                            InboxMessage.platform == values["platform"],
                            InboxMessage.message_id == values["message_id"],
                        )
                    )
                ).one()
                entry = _entry(row)
        return Arrival(entry, first, hits)

    async def unanswered(self, conversation_key: str, *, up_to: int | None) -> list[InboxEntry]:
        """The conversation's received messages in arrival order (``id <= up_to``)."""
        query = select(InboxMessage).where(
            InboxMessage.conversation_key == conversation_key, InboxMessage.state == RECEIVED
        )
        if up_to is not None:
            query = query.where(InboxMessage.id <= up_to)
        with storage_errors("read the inbox"):
            async with self._db.sessions() as session:
                rows = (await session.scalars(query.order_by(InboxMessage.id))).all()
        return [_entry(row) for row in rows]

    async def state_of(self, entry_id: int) -> str | None:
        with storage_errors("read the inbox"):
            async with self._db.sessions() as session:
                return cast(
                    str | None,
                    await session.scalar(
                        select(InboxMessage.state).where(InboxMessage.id == entry_id)
                    ),
                )

    async def waiting_conversations(self, *, received_before: datetime, limit: int) -> list[str]:
        """Conversations with a message received before ``received_before`` and never
        answered (its worker died, or it was acknowledged and then the server stopped)."""
        require_aware(received_before)
        query = (
            select(InboxMessage.conversation_key)
            .where(InboxMessage.state == RECEIVED, InboxMessage.received_at < received_before)
            .group_by(InboxMessage.conversation_key)
            .limit(limit)
        )
        with storage_errors("read the inbox"):
            async with self._db.sessions() as session:
                return list((await session.scalars(query)).all())

    async def forget(self, *, older_than: datetime) -> int:
        """Deletes answered messages (and old rate windows) from before ``older_than``.

        Platforms redeliver within minutes to hours; after the retention period a record only
        takes space.
        """
        require_aware(older_than)
        with storage_errors("forget answered messages"):
            async with self._db.sessions() as session, session.begin():
                result = cast(
                    CursorResult[Any],
                    await session.execute(
                        delete(InboxMessage).where(
                            InboxMessage.state == ANSWERED, InboxMessage.received_at < older_than
                        )
                    ),
                )
                minute = int(self._clock().timestamp() // 60)
                await session.execute(delete(RateWindow).where(RateWindow.window < minute - 2))
        return result.rowcount


async def mark_answered(session: AsyncSession, entry_id: int, now: datetime) -> None:
    """Inside the turn's transaction: the message has its replies."""
    await session.execute(
        update(InboxMessage)
        .where(InboxMessage.id == entry_id)
        .values(state=ANSWERED, answered_at=now)
    )


async def _count(session: AsyncSession, name: str, now: datetime) -> int:
    values = {"name": name[:400], "window": int(now.timestamp() // 60), "hits": 1}
    backend = session.get_bind().dialect.name
    insert = postgresql.insert if backend == "postgresql" else sqlite.insert
    statement = (
        insert(RateWindow)
        .values(**values)
        .on_conflict_do_update(
            index_elements=["name", "window"], set_={"hits": RateWindow.hits + 1}
        )
        .returning(RateWindow.hits)
    )
    return int((await session.execute(statement)).scalar_one())


def _entry(row: InboxMessage) -> InboxEntry:
    return InboxEntry(
        id=row.id,
        state=row.state,
        message=IncomingMessage.from_json(row.message),
        received_at=row.received_at,
    )
