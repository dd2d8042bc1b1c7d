"""The conversation store: sessions, status, the append-only event log and message dedupe.

Every guarantee that matters with several workers (one row per conversation, one claim per
platform message) is enforced by the database's unique keys, not by process memory.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import ColumnElement, Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.events import EventKind
from core.storage.db import Database, storage_errors
from core.storage.models import Conversation, Customer, Event
from core.storage.records import ConversationRecord, EventRecord
from core.storage.rows import (
    SUPPORTED_BACKENDS,
    conversation_record,
    ensure_conversation,
    event_record,
    json_document,
    require_aware,
)
from core.storage.turns import TurnBuffer, open_buffer
from core.types import ConversationKey, utcnow

log = structlog.get_logger(__name__)


class ConversationStore:
    """Conversations, their state and event log, in one :class:`Database`.

    Args:
        database: where everything is stored; migrations must have been applied.
        clock: returns the current timezone-aware time; injectable for tests.

    Every method raises :class:`core.errors.StorageError` (cause chained) when the database
    fails. Methods that write for a key create the conversation first when it is missing.
    """

    def __init__(self, database: Database, *, clock: Callable[[], datetime] = utcnow) -> None:
        backend = database.url.get_backend_name()
        if backend not in SUPPORTED_BACKENDS:
            raise ValueError(f"unsupported database backend {backend!r}: use sqlite or postgresql")
        self._db = database
        self._clock = clock

    async def get(self, key: ConversationKey) -> ConversationRecord | None:
        """The conversation for ``key``, or None if it was never stored."""
        with storage_errors("load a conversation"):
            async with self._db.sessions() as session:
                row = (await session.execute(_conversation_query(key))).one_or_none()
        return None if row is None else _with_buffer(conversation_record(*row))

    async def get_or_create(
        self, key: ConversationKey, display_name: str | None = None
    ) -> ConversationRecord:
        """The conversation for ``key``, created (with its customer) when missing.

        Safe when several tasks or workers create the same key at once: all get one row.

        Args:
            key: which conversation.
            display_name: the customer's name on the platform; stored when it changes.
        """
        with storage_errors("load or create a conversation"):
            async with self._db.sessions() as session, session.begin():
                row = (await session.execute(_conversation_query(key))).one_or_none()
                if row is None or (display_name and row[1] != display_name):
                    await ensure_conversation(session, key, self._now(), display_name)
                    row = (await session.execute(_conversation_query(key))).one()
        return _with_buffer(conversation_record(*row))

    async def append_event(
        self,
        key: ConversationKey,
        kind: EventKind | str,
        *,
        text: str | None = None,
        payload: Mapping[str, Any] | None = None,
    ) -> EventRecord:
        """Append one entry to the conversation's log and return it with its id.

        Args:
            key: which conversation (created when missing).
            kind: an :class:`EventKind` (other rooms may use their own strings).
            text: what was said, for message kinds.
            payload: JSON-serialisable details, as documented on each :class:`EventKind`.
        """
        now = self._now()
        document = json_document(payload or {})
        buffer = open_buffer(key)
        if buffer is not None:  # the turn commits it with its replies
            return buffer.add_event(str(kind), text, document, now)
        with storage_errors("append an event"):
            async with self._db.sessions() as session, session.begin():
                conversation_id = await lock_conversation(session, key, now)
                (record,) = await insert_events(
                    session, conversation_id, [(str(kind), text, document)], now
                )
        log.debug("storage.event.appended", key=key.as_str(), kind=record.kind, id=record.id)
        return record

    async def commit_turn(
        self,
        buffer: TurnBuffer,
        finish: Callable[[AsyncSession, datetime], Awaitable[None]],
    ) -> list[EventRecord]:
        """Writes a turn's buffered events and state, and whatever ``finish`` adds (outbox
        rows, the inbox mark), in one transaction; the buffer is closed afterwards.

        Returns:
            The committed events with their ids, in order.
        """
        now = self._now()
        pending = [(e.kind, e.text, e.payload) for e in buffer.events]
        with storage_errors("commit a turn"):
            async with self._db.sessions() as session, session.begin():
                conversation_id = await lock_conversation(session, buffer.key, now)
                records = await insert_events(session, conversation_id, pending, now)
                if buffer.state is not None:
                    await session.execute(
                        update(Conversation)
                        .where(Conversation.id == conversation_id)
                        .values(state=json_document(buffer.state))
                    )
                await finish(session, now)
        buffer.closed = True
        return records

    async def events(
        self,
        key: ConversationKey,
        *,
        kinds: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> list[EventRecord]:
        """The conversation's log in chronological order (empty for an unknown key).

        Args:
            key: which conversation.
            kinds: only these kinds (``EventKind`` values); None for all.
            limit: only the last ``limit`` events, still oldest first.

        Raises:
            ValueError: if ``limit`` is negative.
        """
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be >= 0, not {limit}")
        query = (
            select(Event)
            .join(Conversation)
            .where(Conversation.key == key.as_str(), *_kind_filter(kinds))
        )
        if limit is not None:
            query = query.order_by(Event.id.desc()).limit(limit)
        else:
            query = query.order_by(Event.id)
        with storage_errors("read events"):
            async with self._db.sessions() as session:
                rows = list((await session.scalars(query)).all())
        if limit is not None:
            rows.reverse()
        records = [event_record(row) for row in rows]
        buffer = open_buffer(key)
        if buffer is not None:  # the turn being handled sees what it wrote so far
            wanted = set(map(str, kinds)) if kinds is not None else None
            records += [e for e in buffer.events if wanted is None or e.kind in wanted]
            if limit is not None:
                records = records[-limit:] if limit else []
        return records

    async def save_state(self, key: ConversationKey, state: Mapping[str, Any]) -> None:
        """Replace the conversation's state (read it back with :meth:`get_or_create`).

        Args:
            key: which conversation (created when missing).
            state: JSON-serialisable session data, e.g. dialogue slots.
        """
        buffer = open_buffer(key)
        if buffer is not None:
            buffer.state = json_document(state)
            return
        await self._update(key, "save state", state=json_document(state))

    async def set_status(self, key: ConversationKey, status: str) -> None:
        """Set the conversation's status (``bot``, or the handoff room's states)."""
        await self._update(key, "set status", status=status)
        log.info("storage.conversation.status", key=key.as_str(), status=status)

    async def conversations(
        self, *, status: str | None = None, since: datetime | None = None
    ) -> list[ConversationRecord]:
        """Conversations in creation order.

        Args:
            status: only conversations with this status.
            since: only conversations active (``updated_at``) at or after this time.
        """
        query = select(Conversation, Customer.display_name).join(Customer)
        if status is not None:
            query = query.where(Conversation.status == status)
        if since is not None:
            require_aware(since)
            query = query.where(Conversation.updated_at >= since)
        with storage_errors("list conversations"):
            async with self._db.sessions() as session:
                rows = (await session.execute(query.order_by(Conversation.id))).all()
        return [conversation_record(*row) for row in rows]

    async def all_events(
        self, *, since: datetime | None = None, kinds: Sequence[str] | None = None
    ) -> list[tuple[ConversationRecord, EventRecord]]:
        """Every event of every conversation in log order, for analytics and exports.

        Args:
            since: only events created at or after this time.
            kinds: only these kinds; None for all.
        """
        query = (
            select(Event, Conversation, Customer.display_name)
            .select_from(Event)
            .join(Conversation, Event.conversation_id == Conversation.id)
            .join(Customer, Conversation.customer_id == Customer.id)
            .where(*_kind_filter(kinds))
        )
        if since is not None:
            require_aware(since)
            query = query.where(Event.created_at >= since)
        with storage_errors("read all events"):
            async with self._db.sessions() as session:
                rows = (await session.execute(query.order_by(Event.id))).all()
        conversations: dict[int, ConversationRecord] = {}
        result = []
        for event, conversation, display_name in rows:
            record = conversations.get(conversation.id)
            if record is None:
                record = conversations[conversation.id] = conversation_record(
                    conversation, display_name
                )
            result.append((record, event_record(event)))
        return result

    async def _update(self, key: ConversationKey, action: str, **values: Any) -> None:
        now = self._now()
        with storage_errors(action):
            async with self._db.sessions() as session, session.begin():
                conversation_id = await ensure_conversation(session, key, now)
                await session.execute(
                    update(Conversation)
                    .where(Conversation.id == conversation_id)
                    .values(updated_at=now, **values)
                )

    def _now(self) -> datetime:
        now = self._clock()
        require_aware(now)
        return now.astimezone(UTC)


def _conversation_query(key: ConversationKey) -> Select[Conversation, str | None]:
    return (
        select(Conversation, Customer.display_name)
        .join(Customer)
        .where(Conversation.key == key.as_str())
    )


def _kind_filter(kinds: Sequence[str] | None) -> list[ColumnElement[bool]]:
    """WHERE clauses keeping only ``kinds`` (none when ``kinds`` is None)."""
    if kinds is None:
        return []
    if isinstance(kinds, str):  # a lone kind, not a sequence of one-letter kinds
        kinds = [kinds]
    return [Event.kind.in_([str(kind) for kind in kinds])]


async def lock_conversation(session: AsyncSession, key: ConversationKey, now: datetime) -> int:
    """The conversation's id (created when missing), its row locked for this transaction by
    an update, so event ids follow commit order."""
    conversation_id = await ensure_conversation(session, key, now)
    await session.execute(
        update(Conversation).where(Conversation.id == conversation_id).values(updated_at=now)
    )
    return conversation_id


async def insert_events(
    session: AsyncSession,
    conversation_id: int,
    events: Sequence[tuple[str, str | None, dict[str, Any]]],
    now: datetime,
) -> list[EventRecord]:
    """Appends ``(kind, text, payload)`` entries to one conversation's log, in order."""
    rows = [
        Event(
            conversation_id=conversation_id, kind=kind, text=text, payload=payload, created_at=now
        )
        for kind, text, payload in events
    ]
    session.add_all(rows)
    await session.flush()
    return [event_record(row) for row in rows]


def _with_buffer(record: ConversationRecord) -> ConversationRecord:
    buffer = open_buffer(record.key)
    if buffer is None or buffer.state is None:
        return record
    return dataclasses.replace(record, state=dict(buffer.state))
