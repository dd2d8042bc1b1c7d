"""The handoff queue in the database: every state change is one conditional UPDATE.

Two agents claiming the same conversation at once both send
``UPDATE handoffs SET state='assigned' ... WHERE id=? AND state='waiting'``; the database
serialises them and only one sees a changed row. The conversation's ``status`` column moves in
the same transaction, so the pipeline never sees a half-done handoff.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Select, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.handoff.models import ASSIGNED, CLOSED, OPEN_STATES, WAITING, Agent, Handoff
from bot.handoff.records import HandoffRecord
from core.storage import Database
from core.storage.db import storage_errors
from core.storage.models import Conversation, Customer
from core.types import ConversationKey, utcnow

Clock = Callable[[], datetime]
_HandoffRows = Select[Handoff, Conversation, str | None]


class UnknownConversation(LookupError):
    """Hand-off asked for a conversation the bot has never seen."""


class HandoffQueue:
    """Handed-off conversations and their states, shared by every worker through the database.

    Args:
        database: a migrated database.
        clock: returns the current timezone-aware time.

    Every method raises :class:`core.errors.StorageError` when the database fails.
    """

    def __init__(self, database: Database, *, clock: Clock = utcnow) -> None:
        self._db = database
        self._clock = clock
        self._backend = database.url.get_backend_name()

    async def enqueue(
        self,
        key: ConversationKey,
        *,
        reason: str,
        priority: int,
        language: str,
        summary: Mapping[str, Any],
    ) -> tuple[HandoffRecord, bool]:
        """Put the conversation in the queue unless it already is.

        Returns:
            The open handoff and whether this call created it.

        Raises:
            UnknownConversation: if there is no conversation with this key.
        """
        now = self._now()
        with storage_errors("enqueue a handoff"):
            async with self._db.sessions() as session, session.begin():
                conversation_id = await session.scalar(
                    select(Conversation.id).where(Conversation.key == key.as_str())
                )
                if conversation_id is None:
                    raise UnknownConversation(key.as_str())
                values = {
                    "conversation_id": conversation_id,
                    "state": WAITING,
                    "priority": priority,
                    "reason": reason,
                    "language": language,
                    "summary": dict(summary),
                    "created_at": now,
                }
                created = await self._insert_ignore(session, values)
                if created:
                    await _set_status(session, conversation_id, WAITING, now)
                handoff, conversation, name = (
                    await session.execute(
                        _records().where(
                            Handoff.conversation_id == conversation_id,
                            Handoff.state.in_(OPEN_STATES),
                        )
                    )
                ).one()
        return _record(handoff, conversation, name), created

    async def claim(self, handoff_id: int, agent_id: int) -> HandoffRecord | None:
        """Assign a waiting conversation to an agent; None if someone else was first."""
        now = self._now()
        return await self._move(
            handoff_id,
            "claim a handoff",
            where=[Handoff.state == WAITING],
            values={"state": ASSIGNED, "agent_id": agent_id, "claimed_at": now},
            status=ASSIGNED,
        )

    async def release(self, handoff_id: int, agent_id: int) -> HandoffRecord | None:
        """Give an assigned conversation back to the queue; None if it is not the agent's."""
        return await self._move(
            handoff_id,
            "release a handoff",
            where=[Handoff.state == ASSIGNED, Handoff.agent_id == agent_id],
            values={"state": WAITING, "agent_id": None, "claimed_at": None, "notified_at": None},
            status=WAITING,
        )

    async def close(self, handoff_id: int, agent_id: int, resolution: str) -> HandoffRecord | None:
        """Close an agent's conversation; it waits for the customer's rating, then the bot."""
        return await self._move(
            handoff_id,
            "close a handoff",
            where=[Handoff.state == ASSIGNED, Handoff.agent_id == agent_id],
            values={"state": CLOSED, "closed_at": self._now(), "resolution": resolution},
            status=CLOSED,
        )

    async def cancel(self, handoff_id: int) -> HandoffRecord | None:
        """The customer went back to the bot; None if the handoff was no longer open."""
        return await self._move(
            handoff_id,
            "cancel a handoff",
            where=[Handoff.state.in_(OPEN_STATES)],
            values={"state": CLOSED, "closed_at": self._now(), "resolution": "cancelled"},
            status="bot",
        )

    async def return_to_bot(self, key: ConversationKey) -> bool:
        """After closing (and the rating question), the bot answers again.

        Returns:
            True if the conversation was waiting for its rating and now is the bot's.
        """
        now = self._now()
        query = (
            update(Conversation)
            .where(Conversation.key == key.as_str(), Conversation.status == CLOSED)
            .values(status="bot", updated_at=now)
        )
        with storage_errors("return a conversation to the bot"):
            async with self._db.sessions() as session, session.begin():
                result = cast(CursorResult[Any], await session.execute(query))
        return result.rowcount == 1

    async def mark_notified(self, handoff_id: int) -> None:
        """Remember that the waiting customer was just told their place in the queue."""
        await self._set(handoff_id, "mark a queue notice", notified_at=self._now())

    async def save_summary(self, handoff_id: int, summary: Mapping[str, Any]) -> None:
        await self._set(handoff_id, "save a summary", summary=dict(summary))

    async def get(self, handoff_id: int) -> HandoffRecord | None:
        return await self._one(_records().where(Handoff.id == handoff_id), "load a handoff")

    async def open_for(self, key: ConversationKey) -> HandoffRecord | None:
        """The conversation's waiting or assigned handoff, if any."""
        query = _records().where(Conversation.key == key.as_str(), Handoff.state.in_(OPEN_STATES))
        return await self._one(query, "load an open handoff")

    async def latest_for(self, key: ConversationKey) -> HandoffRecord | None:
        """The conversation's most recent handoff in any state."""
        query = (
            _records().where(Conversation.key == key.as_str()).order_by(Handoff.id.desc()).limit(1)
        )
        return await self._one(query, "load the latest handoff")

    async def waiting(self) -> list[HandoffRecord]:
        """The queue: highest priority first, then oldest first."""
        query = (
            _records().where(Handoff.state == WAITING).order_by(Handoff.priority.desc(), Handoff.id)
        )
        return await self._many(query, "list the queue")

    async def assigned_to(self, agent_id: int) -> list[HandoffRecord]:
        query = _records().where(Handoff.state == ASSIGNED, Handoff.agent_id == agent_id)
        return await self._many(query.order_by(Handoff.claimed_at), "list an agent's handoffs")

    async def position(self, handoff: HandoffRecord) -> int:
        """1 for the next conversation an agent will take, 0 when it is not waiting."""
        if handoff.state != WAITING:
            return 0
        ahead = (
            select(func.count())
            .select_from(Handoff)
            .where(
                Handoff.state == WAITING,
                or_(
                    Handoff.priority > handoff.priority,
                    (Handoff.priority == handoff.priority) & (Handoff.id < handoff.id),
                ),
            )
        )
        with storage_errors("count the queue"):
            async with self._db.sessions() as session:
                return int(await session.scalar(ahead) or 0) + 1

    async def abandoned(self, seen_before: datetime) -> list[HandoffRecord]:
        """Assigned conversations claimed before ``seen_before`` whose agent has not been
        seen since."""
        query = (
            _records()
            .join(Agent, Handoff.agent_id == Agent.id)
            .where(
                Handoff.state == ASSIGNED,
                Handoff.claimed_at < seen_before,
                or_(Agent.last_seen.is_(None), Agent.last_seen < seen_before),
            )
        )
        return await self._many(query, "list abandoned handoffs")

    async def _move(
        self,
        handoff_id: int,
        action: str,
        *,
        where: list[ColumnElement[bool]],
        values: dict[str, Any],
        status: str,
    ) -> HandoffRecord | None:
        """One conditional state change and the conversation status, in one transaction."""
        now = self._now()
        statement = update(Handoff).where(Handoff.id == handoff_id, *where).values(**values)
        with storage_errors(action):
            async with self._db.sessions() as session, session.begin():
                result = cast(CursorResult[Any], await session.execute(statement))
                if result.rowcount != 1:
                    return None
                query = _records().where(Handoff.id == handoff_id)
                handoff, conversation, name = (await session.execute(query)).one()
                await _set_status(session, conversation.id, status, now)
                record = _record(handoff, conversation, name)
        return record

    async def _set(self, handoff_id: int, action: str, **values: Any) -> None:
        with storage_errors(action):
            async with self._db.sessions() as session, session.begin():
                await session.execute(
                    update(Handoff).where(Handoff.id == handoff_id).values(**values)
                )

    async def _one(self, query: _HandoffRows, action: str) -> HandoffRecord | None:
        with storage_errors(action):
            async with self._db.sessions() as session:
                row = (await session.execute(query)).first()
        if row is None:
            return None
        handoff, conversation, name = row
        return _record(handoff, conversation, name)

    async def _many(self, query: _HandoffRows, action: str) -> list[HandoffRecord]:
        with storage_errors(action):
            async with self._db.sessions() as session:
                rows = (await session.execute(query)).all()
        return [_record(handoff, conversation, name) for handoff, conversation, name in rows]

    async def _insert_ignore(self, session: AsyncSession, values: Mapping[str, Any]) -> bool:
        """INSERT ... ON CONFLICT DO NOTHING: the open-handoff index turns a second escalation
        of the same conversation into a no-op, also across workers."""
        statement: postgresql.Insert | sqlite.Insert
        if self._backend == "postgresql":
            statement = postgresql.insert(Handoff).values(**values).on_conflict_do_nothing()
        else:
            statement = sqlite.insert(Handoff).values(**values).on_conflict_do_nothing()
        result = cast(CursorResult[Any], await session.execute(statement))
        return result.rowcount == 1

    def _now(self) -> datetime:
        return self._clock().astimezone(UTC)


async def _set_status(
    session: AsyncSession, conversation_id: int, status: str, now: datetime
) -> None:
    await session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(status=status, updated_at=now)
    )


def _records() -> _HandoffRows:
    return (
        select(Handoff, Conversation, Customer.display_name)
        .join(Conversation, Handoff.conversation_id == Conversation.id)
        .join(Customer, Conversation.customer_id == Customer.id)
    )


def _record(row: Handoff, conversation: Conversation, display_name: str | None) -> HandoffRecord:
    return HandoffRecord(
        id=row.id,
        key=ConversationKey(
            conversation.platform,
            conversation.chat_id,
            conversation.user_id,
            conversation.thread_id,
        ),
        state=row.state,
        priority=row.priority,
        reason=row.reason,
        language=row.language,
        agent_id=row.agent_id,
        summary=dict(row.summary or {}),
        resolution=row.resolution,
        created_at=row.created_at,
        claimed_at=row.claimed_at,
        closed_at=row.closed_at,
        notified_at=row.notified_at,
        customer_name=display_name,
    )
