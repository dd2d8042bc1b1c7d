"""One holder at a time per name (a conversation), in this process and across workers.

On SQLite (one process) an asyncio lock per name is enough. On PostgreSQL a session-level
advisory lock is taken as well, on a pooled connection held for as long as the lock: when a
worker dies its connection closes and the lock is released at once, so nothing waits for a
dead worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.storage.db import storage_errors

log = structlog.get_logger(__name__)

_FIRST_WAIT_S = 0.005
_MAX_WAIT_S = 0.1


class NamedLocks(Protocol):
    def hold(self, name: str) -> AbstractAsyncContextManager[None]:
        """Waits until ``name`` is free and holds it for the block."""
        ...

    def try_hold(self, name: str) -> AbstractAsyncContextManager[bool]:
        """Holds ``name`` for the block if it is free now; yields whether it got it."""
        ...


class LocalLocks:
    """asyncio locks by name, forgotten once nobody holds or waits for them."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[None]:
        lock = self._enter(name)
        try:
            async with lock:
                yield
        finally:
            self._leave(name)

    @asynccontextmanager
    async def try_hold(self, name: str) -> AsyncIterator[bool]:
        lock = self._enter(name)
        try:
            if lock.locked():
                yield False
                return
            async with lock:
                yield True
        finally:
            self._leave(name)

    def _enter(self, name: str) -> asyncio.Lock:
        self._users[name] = self._users.get(name, 0) + 1
        return self._locks.setdefault(name, asyncio.Lock())

    def _leave(self, name: str) -> None:
        self._users[name] -= 1
        if self._users[name] == 0:  # nobody holds or waits: forget it
            del self._users[name]
            del self._locks[name]

    def __len__(self) -> int:
        return len(self._locks)


class AdvisoryLocks:
    """:class:`LocalLocks` plus a PostgreSQL advisory lock per name.

    Args:
        engine: the PostgreSQL engine whose pool lends the connection that holds a lock.
        namespace: prefix that keeps different kinds of locks on the same name apart.
    """

    def __init__(self, engine: AsyncEngine, namespace: str) -> None:
        self._engine = engine
        self._namespace = namespace
        self._local = LocalLocks()

    @asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[None]:
        async with self._local.hold(name):
            wait = _FIRST_WAIT_S
            while True:
                connection = await self._try_lock(name)
                if connection is not None:
                    break
                await asyncio.sleep(wait)
                wait = min(wait * 2, _MAX_WAIT_S)
            try:
                yield
            finally:
                await self._unlock(connection, name)

    @asynccontextmanager
    async def try_hold(self, name: str) -> AsyncIterator[bool]:
        async with self._local.try_hold(name) as free:
            connection = await self._try_lock(name) if free else None
            try:
                yield connection is not None
            finally:
                if connection is not None:
                    await self._unlock(connection, name)

    async def _try_lock(self, name: str) -> AsyncConnection | None:
        with storage_errors("take a lock"):
            connection = await self._engine.connect()
            try:
                connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
                got = await connection.scalar(
                    text("SELECT pg_try_advisory_lock(hashtextextended(:name, 0))"),
                    {"name": f"{self._namespace}:{name}"},
                )
            except BaseException:
                await connection.close()
                raise
        if got:
            return connection
        await connection.close()
        return None

    async def _unlock(self, connection: AsyncConnection, name: str) -> None:
        try:
            await connection.execute(
                text("SELECT pg_advisory_unlock(hashtextextended(:name, 0))"),
                {"name": f"{self._namespace}:{name}"},
            )
        except Exception:
            # The connection is gone, and with it the lock; invalidate it, not the pool.
            log.warning("runtime.lock.unlock_failed", lock=self._namespace)
            await connection.invalidate()
        finally:
            await connection.close()


def named_locks(engine: AsyncEngine, namespace: str) -> NamedLocks:
    """Advisory locks on PostgreSQL, process-local ones on SQLite (a single process)."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLocks(engine, namespace)
    return LocalLocks()
