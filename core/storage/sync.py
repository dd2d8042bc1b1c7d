"""A synchronous engine on the same database as :class:`core.storage.db.Database`.

For code that runs in worker threads rather than on the event loop (the knowledge base's
writes run through ``asyncio.to_thread`` and from the CLI). Same URL, synchronous driver:
``sqlite+aiosqlite`` -> the standard library's ``sqlite3``, ``postgresql+asyncpg`` -> psycopg.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import URL, Engine, create_engine, event, inspect, make_url
from sqlalchemy.pool import StaticPool

from core.storage.db import (
    _ALEMBIC_LOCK,
    _json_dumps,
    _sqlite_on_connect,
    alembic_config,
    storage_errors,
)

SYNC_DRIVERS = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"}


def sync_url(url: str | URL) -> URL:
    """The synchronous-driver twin of an async database URL.

    Raises:
        StorageError: the URL cannot be parsed or names a backend other than SQLite/PostgreSQL.
    """
    with storage_errors("open the database URL"):
        parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in SYNC_DRIVERS:
        from core.errors import StorageError

        raise StorageError(f"unsupported database backend {backend!r}")
    return parsed.set(drivername=SYNC_DRIVERS[backend])


def sqlite_file(url: URL) -> Path | None:
    """The database file of an SQLite URL; ``None`` for in-memory or other backends."""
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ":memory:"
    if database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(database).expanduser().resolve()


def create_sync_engine(url: str | URL, *, pool_size: int = 2) -> Engine:
    """A small synchronous engine with the application's SQLite pragmas.

    Args:
        url: The application's (async) database URL.
        pool_size: Connections kept open on PostgreSQL (a second one holds the writer lock).

    Raises:
        StorageError: the URL is unusable or its driver is not installed.
    """
    target = sync_url(url)
    with storage_errors("create the database engine"):
        if target.get_backend_name() != "sqlite":
            return create_engine(
                target,
                pool_pre_ping=True,
                pool_size=pool_size,
                max_overflow=2,
                json_serializer=_json_dumps,
            )
        path = sqlite_file(target)
        if path is None:
            engine = create_engine(target, poolclass=StaticPool, json_serializer=_json_dumps)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(target, json_serializer=_json_dumps)
    event.listen(engine, "connect", _sqlite_on_connect)
    return engine


def ensure_migrated(engine: Engine, table: str) -> None:
    """Applies the migrations when ``table`` is missing (a new database, a CLI run first).

    Raises:
        StorageError: the database is unreachable or a migration fails.
    """
    with storage_errors("inspect the database"), engine.connect() as connection:
        if inspect(connection).has_table(table):
            return
    with _ALEMBIC_LOCK, storage_errors("apply migrations"), engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
