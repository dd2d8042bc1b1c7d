"""Alembic environment for Kefu: async URLs, SQLite and PostgreSQL.

The database comes from, in order: a connection handed over by ``Database.upgrade`` (in
``config.attributes["connection"]``), ``sqlalchemy.url`` in the Alembic config, the
``KEFU_STORAGE__DATABASE_URL`` environment variable, then ``KefuSettings().database_url``.
"""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection, text

from core.storage.db import Database
from core.storage.models import Base

config = context.config
target_metadata = Base.metadata

MIGRATION_LOCK = 0x6B656675  # "kefu", the PostgreSQL advisory lock key held while migrating


def database_url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    url = os.environ.get("KEFU_STORAGE__DATABASE_URL")
    if url:
        return url
    from core.settings import KefuSettings

    return KefuSettings().database_url


def run_migrations(connection: Connection) -> None:
    # Several processes may start at once: one migrates, the others wait, then find nothing
    # left to do. Both locks end with the migration transaction.
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    elif connection.dialect.name == "sqlite":
        # Take SQLite's write lock now (the driver would begin only at the first INSERT), which
        # also makes the whole upgrade one transaction: a failed migration leaves no half.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: autogenerate batch operations for it.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_with_own_engine(url: str) -> None:
    # Database creates the SQLite folder and sets the same pragmas as the application.
    database = Database(url)
    try:
        async with database.engine.connect() as connection:
            await connection.run_sync(run_migrations)
            await connection.commit()
    finally:
        await database.dispose()


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    if config.config_file_name is not None:
        # Only when run as the `alembic` command; never reconfigure a running app's logging.
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    asyncio.run(run_migrations_with_own_engine(database_url()))


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
