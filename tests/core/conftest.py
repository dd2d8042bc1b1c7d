"""Storage fixtures: every contract test runs on SQLite, and on PostgreSQL when the test
command started one and exported ``KEFU_TEST_DATABASE_URL`` (see ``.ci/postgres.sh``)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from core.storage import ConversationStore, Database

POSTGRES_URL = os.environ.get("KEFU_TEST_DATABASE_URL")

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgresql",
        id="postgresql",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(not POSTGRES_URL, reason="KEFU_TEST_DATABASE_URL is not set"),
        ],
    ),
]


async def reset_postgres(url: str) -> None:
    """Drop every table, type and Alembic record so the test starts from an empty database."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty database on each backend."""
    if request.param == "sqlite":
        # A folder that does not exist yet: Database must create it.
        return f"sqlite+aiosqlite:///{tmp_path / 'data' / 'kefu.db'}"
    assert POSTGRES_URL is not None
    await reset_postgres(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A migrated database, disposed after the test."""
    database = Database(database_url)
    await database.upgrade()
    yield database
    await database.dispose()


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(database: Database) -> ConversationStore:
    return ConversationStore(database)
