"""The database connection: an async SQLAlchemy engine, its sessions, and Alembic migrations.

SQLite (the default, a file under the data directory) and PostgreSQL (the scale-out path) run
the same code; only the URL changes.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import structlog
from alembic import command
from alembic.config import Config
from sqlalchemy import URL, Connection, event, make_url, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import StaticPool

from core.errors import StorageError

log = structlog.get_logger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent.parent / "migrations"
"""Alembic's script directory, found from this package so the working directory never matters."""

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long an SQLite writer waits for another writer before failing with "database is locked"."""


@contextmanager
def storage_errors(action: str) -> Iterator[None]:
    """Re-raise database and driver failures as :class:`StorageError`, cause chained.

    Args:
        action: what was being done, for the message (``"append event"``).

    Raises:
        StorageError: when the wrapped block raises a SQLAlchemy, driver or socket error.
    """
    try:
        yield
    except StorageError:
        raise
    except (SQLAlchemyError, OSError, TimeoutError) as e:
        raise StorageError(f"database failed to {action}: {type(e).__name__}") from e


def _json_dumps(value: Any) -> str:
    # Readable Chinese in the database file instead of \\uXXXX escapes.
    return json.dumps(value, ensure_ascii=False)


class Database:
    """One database: an async engine, a session factory, and its migrations.

    Constructing it opens no connection; the first query (or :meth:`upgrade`) does.

    Args:
        url: SQLAlchemy async URL, e.g. ``sqlite+aiosqlite:///data/kefu.db`` or
            ``postgresql+asyncpg://user:password@host/db``.
        echo: log every SQL statement (debugging only).

    Raises:
        StorageError: if the URL cannot be parsed or names no installed async driver.
    """

    def __init__(self, url: str | URL, *, echo: bool = False) -> None:
        with storage_errors("open the database URL"):
            self._url = make_url(url)
            self._engine = self._create_engine(echo)
        self._sessions = async_sessionmaker(self._engine, expire_on_commit=False)

    @property
    def url(self) -> URL:
        return self._url

    @property
    def safe_url(self) -> str:
        """The URL with its password hidden, for logs and messages."""
        return self._url.render_as_string(hide_password=True)

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        """Session factory: ``async with db.sessions() as session, session.begin(): ...``."""
        return self._sessions

    @property
    def is_sqlite(self) -> bool:
        return self._url.get_backend_name() == "sqlite"

    def _create_engine(self, echo: bool) -> AsyncEngine:
        options: dict[str, Any] = {"echo": echo, "json_serializer": _json_dumps}
        if not self.is_sqlite:
            # Drop connections the server closed (restart, idle timeout) instead of failing.
            # Each turn in flight holds one connection for its conversation lock and borrows
            # another for its queries: room for server.max_concurrent_turns (8) and delivery.
            engine = create_async_engine(
                self._url, pool_pre_ping=True, pool_size=10, max_overflow=20, **options
            )
            return engine
        database = self._url.database or ":memory:"
        if database == ":memory:" or database.startswith("file::memory:"):
            # Every new connection would be a new, empty database: share one.
            options["poolclass"] = StaticPool
        else:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(self._url, **options)
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        return engine

    async def upgrade(self) -> None:
        """Apply every pending Alembic migration, up to all heads (every room's branch).

        Safe to call at every start; works from inside a running event loop.

        Raises:
            StorageError: if the database is unreachable or a migration fails.
        """
        if not (MIGRATIONS_DIR / "env.py").is_file():
            raise StorageError(f"Alembic migrations not found in {MIGRATIONS_DIR}")
        async with _alembic_turn():
            with storage_errors("apply migrations"):
                async with self._engine.begin() as connection:
                    await connection.run_sync(self._upgrade_on)
        log.info("storage.migrations.applied", url=self.safe_url)

    def _upgrade_on(self, connection: Connection) -> None:
        config = alembic_config()
        # env.py runs the migrations on this connection instead of opening its own.
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")

    async def dispose(self) -> None:
        """Close every pooled connection. The object can still be used afterwards."""
        await self._engine.dispose()


async def one_writer_at_a_time(session: AsyncSession, name: str) -> None:
    """Inside a transaction: waits until no other worker runs a transaction that called this
    with the same ``name`` (PostgreSQL advisory transaction lock; SQLite already lets one
    writer in at a time). For start-up work several workers may try at once (seeding)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"), {"name": name}
        )


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration for this project's migrations, independent of the cwd.

    Args:
        url: database URL for ``sqlalchemy.url``; ``env.py`` falls back to the settings.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # ConfigParser interpolation would read "%" in a URL-encoded password as a variable.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_sync(url: str | URL) -> None:
    """Apply all migrations from synchronous code, e.g. the ``kefu db upgrade`` command.

    Must not be called from inside a running event loop; use :meth:`Database.upgrade` there.

    Raises:
        StorageError: if the URL is unusable, the database unreachable or a migration fails.
    """

    async def run() -> None:
        database = Database(url)
        try:
            await database.upgrade()
        finally:
            await database.dispose()

    asyncio.run(run())


_ALEMBIC_LOCK = threading.Lock()
"""Alembic keeps the running migration in module globals: one upgrade per process at a time."""


@asynccontextmanager
async def _alembic_turn() -> AsyncIterator[None]:
    # Polling instead of blocking: the event loop keeps running, the lock works across loops
    # and threads, and a cancelled waiter never ends up holding it.
    while not _ALEMBIC_LOCK.acquire(blocking=False):
        await asyncio.sleep(0.02)
    try:
        yield
    finally:
        _ALEMBIC_LOCK.release()


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # WAL lets readers work while one writer writes; foreign keys are off by default.
        cursor.execute("PRAGMA journal_mode=WAL")
        # With WAL, NORMAL syncs at checkpoints, not at every commit: a killed process loses
        # nothing (only a power cut may undo the last commits), and a turn saves milliseconds.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()
