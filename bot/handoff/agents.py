"""Human agents: who they are, how they log in, whether they are online."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import structlog
from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.exc import IntegrityError

from bot.handoff.auth_models import StaffSession
from bot.handoff.credentials import hash_password, hash_token, verify_password
from bot.handoff.models import Agent
from bot.handoff.records import AgentRecord
from core.errors import InputError
from core.storage import Database
from core.storage.db import storage_errors
from core.types import utcnow

log = structlog.get_logger(__name__)

MAX_NAME_CHARS = 64


class AgentDirectory:
    """The agents table.

    Args:
        database: a migrated database.
        clock: returns the current timezone-aware time.

    Every method raises :class:`core.errors.StorageError` when the database fails.
    """

    def __init__(self, database: Database, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._db = database
        self._clock = clock

    async def add(
        self, name: str, *, password: str | None = None, token: str | None = None
    ) -> AgentRecord:
        """Create an agent who logs in with ``password``, ``token`` or both.

        Raises:
            InputError: if the name is empty, too long or taken, no credential is given, or
                the password is too short.
        """
        name = name.strip()
        if not name or len(name) > MAX_NAME_CHARS:
            raise InputError(f"agent names have 1 to {MAX_NAME_CHARS} characters")
        if password is None and token is None:
            raise InputError("an agent needs a password or a token")
        try:
            password_hash = (
                None if password is None else await asyncio.to_thread(hash_password, password)
            )
        except ValueError as e:
            raise InputError(str(e)) from e
        row = Agent(
            name=name,
            password_hash=password_hash,
            token_hash=None if token is None else hash_token(token),
            active=True,
            online=False,
            created_at=self._now(),
        )
        with storage_errors("add an agent"):
            try:
                async with self._db.sessions() as session, session.begin():
                    session.add(row)
                    await session.flush()
                    record = _record(row)
            except IntegrityError as e:
                raise InputError(f"an agent named {name!r} already exists") from e
        log.info("handoff.agent.added", agent=name, agent_id=record.id)
        return record

    async def authenticate(self, name: str, secret: str) -> AgentRecord | None:
        """The active agent whose password or token is ``secret``, else None.

        Always costs one password hash, so timing does not reveal which names exist.
        """
        with storage_errors("load an agent"):
            async with self._db.sessions() as session:
                row = await session.scalar(select(Agent).where(Agent.name == name.strip()))
        stored = row.password_hash if row is not None else None
        password_ok = await asyncio.to_thread(verify_password, secret, stored)
        token_ok = row is not None and row.token_hash == hash_token(secret)
        if row is None or not row.active or not (password_ok or token_ok):
            return None
        return _record(row)

    async def set_password(self, agent_id: int, password: str) -> int:
        """Replaces an agent's password and ends all their sessions, in one transaction.

        Returns:
            How many sessions were ended.

        Raises:
            InputError: if the password is too short.
        """
        try:
            password_hash = await asyncio.to_thread(hash_password, password)
        except ValueError as e:
            raise InputError(str(e)) from e
        now = self._now()
        change = update(Agent).where(Agent.id == agent_id).values(password_hash=password_hash)
        revoke = (
            update(StaffSession)
            .where(
                StaffSession.kind == "agent",
                StaffSession.subject == str(agent_id),
                StaffSession.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
        with storage_errors("change a password"):
            async with self._db.sessions() as session, session.begin():
                await session.execute(change)
                ended = cast(CursorResult[Any], await session.execute(revoke)).rowcount
        log.info("handoff.agent.password_changed", agent_id=agent_id, sessions_ended=ended)
        return int(ended)

    async def get(self, agent_id: int) -> AgentRecord | None:
        with storage_errors("load an agent"):
            async with self._db.sessions() as session:
                row = await session.get(Agent, agent_id)
        return None if row is None else _record(row)

    async def all(self) -> list[AgentRecord]:
        with storage_errors("list agents"):
            async with self._db.sessions() as session:
                rows = (await session.scalars(select(Agent).order_by(Agent.name))).all()
        return [_record(row) for row in rows]

    async def set_active(self, name: str, active: bool) -> bool:
        """Enable or disable an agent; a disabled agent's sessions stop working at once.

        Returns:
            False if there is no agent with that name.
        """
        values: dict[str, Any] = {"active": active}
        if not active:
            values["online"] = False
        statement = update(Agent).where(Agent.name == name.strip()).values(**values)
        with storage_errors("update an agent"):
            async with self._db.sessions() as session, session.begin():
                result = cast(CursorResult[Any], await session.execute(statement))
        return result.rowcount == 1

    async def seen(self, agent_id: int, *, online: bool | None = None) -> None:
        """Record that the agent is (still) here; ``online`` also sets the workspace flag."""
        values: dict[str, Any] = {"last_seen": self._now()}
        if online is not None:
            values["online"] = online
        with storage_errors("record an agent's presence"):
            async with self._db.sessions() as session, session.begin():
                await session.execute(update(Agent).where(Agent.id == agent_id).values(**values))

    async def online_count(self, within: timedelta) -> int:
        """Active agents with the workspace open and seen in the last ``within``."""
        since = self._now() - within
        query = (
            select(func.count())
            .select_from(Agent)
            .where(Agent.active.is_(True), Agent.online.is_(True), Agent.last_seen >= since)
        )
        with storage_errors("count online agents"):
            async with self._db.sessions() as session:
                return int(await session.scalar(query) or 0)

    def _now(self) -> datetime:
        return self._clock().astimezone(UTC)


def _record(row: Agent) -> AgentRecord:
    return AgentRecord(
        id=row.id,
        name=row.name,
        active=row.active,
        online=row.online,
        last_seen=row.last_seen,
        created_at=row.created_at,
        has_password=row.password_hash is not None,
        has_token=row.token_hash is not None,
    )
