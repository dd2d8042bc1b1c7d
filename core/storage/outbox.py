"""The durable outbox: every message to a customer is stored before it is sent.

``pending`` -> ``sent`` when the platform took it, or ``failed`` when it gave up; push
platforms are retried until then (see ``bot.delivery``), pull channels (REST, web chat)
:meth:`OutboxStore.take` their pending messages. The transcript's "sent" is this state.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.events import EventKind
from core.storage.conversations import insert_events, lock_conversation
from core.storage.db import Database, storage_errors
from core.storage.models import OutboxMessage
from core.storage.records import EventRecord
from core.storage.rows import json_document, require_aware
from core.types import ConversationKey, OutgoingMessage, utcnow

PENDING = "pending"
SENT = "sent"
FAILED = "failed"


@dataclass(slots=True, frozen=True)
class OutboxEntry:
    """One stored message to a customer."""

    id: int
    key: ConversationKey
    inbox_id: int | None
    reply_id: str
    source: str
    """``bot``, ``agent`` or ``system``."""
    message: OutgoingMessage
    state: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime


@dataclass(slots=True, frozen=True)
class EventToRecord:
    """An event-log entry written in the same transaction as an outbox row."""

    kind: str
    payload: Mapping[str, Any]


def new_reply_id() -> str:
    return uuid.uuid4().hex


class OutboxStore:
    """Messages waiting for, or done with, delivery.

    Args:
        database: the migrated database.
        clock: the current timezone-aware time.
    """

    def __init__(self, database: Database, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._db = database
        self._clock = clock

    async def enqueue(
        self,
        key: ConversationKey,
        message: OutgoingMessage,
        *,
        source: str,
        record: EventToRecord | None = None,
    ) -> tuple[OutboxEntry, EventRecord | None]:
        """Stores a message outside a turn (an agent's reply, a notice), with its event-log
        entry when ``record`` is given, in one transaction.

        Returns:
            The outbox entry and the recorded event (None without ``record``).
        """
        now = self._clock()
        event = None
        with storage_errors("queue a message"):
            async with self._db.sessions() as session, session.begin():
                if record is not None:
                    conversation_id = await lock_conversation(session, key, now)
                    payload = {**json_document(record.payload)}
                    (event,) = await insert_events(
                        session, conversation_id, [(record.kind, message.text, payload)], now
                    )
                (entry,) = await add_messages(session, key, [message], source, None, now)
        return entry, event

    async def for_inbox(self, inbox_id: int) -> list[OutboxEntry]:
        """The replies a turn stored for one incoming message, in order."""
        query = select(OutboxMessage).where(OutboxMessage.inbox_id == inbox_id)
        with storage_errors("read the outbox"):
            async with self._db.sessions() as session:
                rows = (await session.scalars(query.order_by(OutboxMessage.id))).all()
        return [_entry(row) for row in rows]

    async def take(self, key: ConversationKey) -> list[OutboxEntry]:
        """Claims every pending message of a pull channel's conversation (REST, web chat),
        marking them sent; two workers never take the same message."""
        now = self._clock()
        statement = (
            update(OutboxMessage)
            .where(OutboxMessage.conversation_key == key.as_str(), OutboxMessage.state == PENDING)
            .values(state=SENT, sent_at=now, attempts=OutboxMessage.attempts + 1)
            .returning(OutboxMessage)
            .execution_options(synchronize_session=False)
        )
        with storage_errors("take pending messages"):
            async with self._db.sessions() as session, session.begin():
                rows = (await session.scalars(statement)).all()
                entries = [_entry(row) for row in rows]
        return sorted(entries, key=lambda e: e.id)

    async def give_back(self, ids: Sequence[int]) -> None:
        """Undo :meth:`take` for messages that could not be handed over after all."""
        if not ids:
            return
        with storage_errors("give messages back"):
            async with self._db.sessions() as session, session.begin():
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(ids))
                    .values(state=PENDING, sent_at=None)
                )

    async def pending(self, key: ConversationKey) -> list[OutboxEntry]:
        """The conversation's pending messages in order (due or not)."""
        query = select(OutboxMessage).where(
            OutboxMessage.conversation_key == key.as_str(), OutboxMessage.state == PENDING
        )
        with storage_errors("read the outbox"):
            async with self._db.sessions() as session:
                rows = (await session.scalars(query.order_by(OutboxMessage.id))).all()
        return [_entry(row) for row in rows]

    async def due_conversations(
        self, platforms: Sequence[str], *, limit: int = 100, due_only: bool = True
    ) -> list[str]:
        """Conversations on ``platforms`` with a pending message whose next attempt is due
        (or with any pending message, when not ``due_only``)."""
        if not platforms:
            return []
        conditions = [OutboxMessage.state == PENDING, OutboxMessage.platform.in_(platforms)]
        if due_only:
            conditions.append(OutboxMessage.next_attempt_at <= self._clock())
        query = (
            select(OutboxMessage.conversation_key)
            .where(*conditions)
            .group_by(OutboxMessage.conversation_key)
            .limit(limit)
        )
        with storage_errors("read the outbox"):
            async with self._db.sessions() as session:
                return list((await session.scalars(query)).all())

    async def mark_sent(self, entry_id: int) -> None:
        await self._set(entry_id, "mark a message sent", state=SENT, sent_at=self._clock())

    async def retry_later(self, entry_id: int, error: str, at: datetime) -> None:
        require_aware(at)
        await self._set(
            entry_id,
            "schedule a retry",
            attempts=OutboxMessage.attempts + 1,
            next_attempt_at=at,
            last_error=error[:1000],
        )

    async def mark_failed(self, entry: OutboxEntry, error: str) -> None:
        """Gives up on a message and says so in the conversation's log, where agents and the
        report see it."""
        now = self._clock()
        payload = {
            "outbox_id": entry.id,
            "reply_id": entry.reply_id,
            "error": error[:1000],
            "attempts": entry.attempts + 1,
            "source": entry.source,
        }
        with storage_errors("mark a message failed"):
            async with self._db.sessions() as session, session.begin():
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == entry.id)
                    .values(
                        state=FAILED,
                        attempts=OutboxMessage.attempts + 1,
                        last_error=error[:1000],
                    )
                )
                conversation_id = await lock_conversation(session, entry.key, now)
                await insert_events(
                    session,
                    conversation_id,
                    [(EventKind.DELIVERY_FAILED.value, entry.message.text, payload)],
                    now,
                )

    async def counts(self) -> dict[str, int]:
        """Messages by state (for metrics and the report)."""
        query = select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
        with storage_errors("count the outbox"):
            async with self._db.sessions() as session:
                rows = (await session.execute(query)).all()
        return {str(state): int(count) for state, count in rows}

    async def forget(self, *, older_than: datetime) -> int:
        """Deletes sent messages created before ``older_than``; failed ones stay for review."""
        require_aware(older_than)
        with storage_errors("forget sent messages"):
            async with self._db.sessions() as session, session.begin():
                result = cast(
                    CursorResult[Any],
                    await session.execute(
                        delete(OutboxMessage).where(
                            OutboxMessage.state == SENT, OutboxMessage.created_at < older_than
                        )
                    ),
                )
        return result.rowcount

    async def _set(self, entry_id: int, action: str, **values: Any) -> None:
        with storage_errors(action):
            async with self._db.sessions() as session, session.begin():
                await session.execute(
                    update(OutboxMessage).where(OutboxMessage.id == entry_id).values(**values)
                )


async def add_messages(
    session: AsyncSession,
    key: ConversationKey,
    messages: Sequence[OutgoingMessage],
    source: str,
    inbox_id: int | None,
    now: datetime,
    *,
    handed_over: bool = False,
) -> list[OutboxEntry]:
    """Inside a transaction: store messages for ``key`` as pending, in order (or as sent,
    when the caller hands them to the customer itself, e.g. in an HTTP response)."""
    rows = [
        OutboxMessage(
            conversation_key=key.as_str(),
            platform=key.platform,
            inbox_id=inbox_id,
            reply_id=str(message.custom.get("reply_id") or new_reply_id()),
            source=source,
            message=json_document(message.to_json()),
            state=SENT if handed_over else PENDING,
            attempts=1 if handed_over else 0,
            next_attempt_at=now,
            created_at=now,
            sent_at=now if handed_over else None,
        )
        for message in messages
    ]
    session.add_all(rows)
    await session.flush()
    return [_entry(row) for row in rows]


async def take_pending(
    session: AsyncSession, key: ConversationKey, now: datetime
) -> list[OutboxEntry]:
    """Inside a transaction: claim the conversation's pending messages for a pull channel."""
    statement = (
        update(OutboxMessage)
        .where(OutboxMessage.conversation_key == key.as_str(), OutboxMessage.state == PENDING)
        .values(state=SENT, sent_at=now, attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage)
        .execution_options(synchronize_session=False)
    )
    rows = (await session.scalars(statement)).all()
    return sorted((_entry(row) for row in rows), key=lambda e: e.id)


def _entry(row: OutboxMessage) -> OutboxEntry:
    return OutboxEntry(
        id=row.id,
        key=ConversationKey.parse(row.conversation_key),
        inbox_id=row.inbox_id,
        reply_id=row.reply_id,
        source=row.source,
        message=OutgoingMessage.from_json(row.message),
        state=row.state,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
    )
