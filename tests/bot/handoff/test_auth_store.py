"""Staff sessions and failed logins live in the database: what one worker records, every worker
sees (SQLite, and PostgreSQL when KEFU_TEST_DATABASE_URL is set). Migration 0005_identity
creates exactly the tables the models declare."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect

import bot.handoff.auth_models  # noqa: F401  (registers the tables on Base)
from bot.handoff.auth import LoginThrottle, StaffSessions
from core.storage import Database
from core.storage.models import Base
from tests.bot.feedback.test_migration import _tables_named
from tests.core.conftest import FakeClock

AUTH_TABLES = {"staff_sessions", "login_failures"}
KEY = b"shared-signing-key-of-all-workers"


@pytest.fixture
async def workers(any_database_url: str) -> AsyncIterator[tuple[Database, Database]]:
    """Two workers: two engines on the same database."""
    first, second = Database(any_database_url), Database(any_database_url)
    await first.upgrade()
    yield first, second
    await first.dispose()
    await second.dispose()


async def test_a_logout_on_one_worker_ends_the_session_on_the_other(
    workers: tuple[Database, Database], clock: FakeClock
) -> None:
    one, two = (StaffSessions(db, KEY, timedelta(hours=12), clock=clock) for db in workers)
    cookie = await one.open("agent", "7")
    login = await two.check(cookie, "agent")
    assert login is not None and login.subject == "7"
    assert await two.check(cookie, "admin") is None  # an agent cookie opens no admin page
    await one.revoke(login)
    assert await two.check(cookie, "agent") is None


async def test_a_password_change_revokes_every_session_of_that_agent_only(
    workers: tuple[Database, Database], clock: FakeClock
) -> None:
    one, two = (StaffSessions(db, KEY, timedelta(hours=12), clock=clock) for db in workers)
    laptop, phone, colleague = (
        await one.open("agent", "7"),
        await two.open("agent", "7"),
        await one.open("agent", "8"),
    )
    assert await two.revoke_all("agent", "7") == 2
    assert await one.check(laptop, "agent") is None
    assert await one.check(phone, "agent") is None
    assert await one.check(colleague, "agent") is not None


async def test_sessions_expire_and_forged_ids_are_refused(
    workers: tuple[Database, Database], clock: FakeClock
) -> None:
    sessions = StaffSessions(workers[0], KEY, timedelta(hours=1), clock=clock)
    cookie = await sessions.open("admin", "admin")
    version, session_id, signature = cookie.split(".")
    assert await sessions.check(f"{version}.{session_id}x.{signature}", "admin") is None
    assert await sessions.check("v2.ü.ü", "admin") is None
    clock.advance(minutes=61)
    assert await sessions.check(cookie, "admin") is None


async def test_failed_logins_count_across_workers_per_account_and_client(
    workers: tuple[Database, Database], clock: FakeClock
) -> None:
    one, two = (LoginThrottle(db, 3, timedelta(minutes=15), clock=clock) for db in workers)
    for throttle in (one, two, one):
        await throttle.failed("Alice", "203.0.113.9")
    assert await two.blocked("alice", "203.0.113.9")
    assert not await two.blocked("alice", "198.51.100.7")  # alice elsewhere is not locked out
    assert not await one.blocked("bob", "203.0.113.9")
    clock.advance(minutes=16)
    assert not await one.blocked("alice", "203.0.113.9")


async def test_the_identity_tables_match_their_models(database: Database) -> None:
    def differences(connection: Connection) -> tuple[set[str], list[object]]:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        diff = compare_metadata(context, Base.metadata)
        ours = [d for d in diff if AUTH_TABLES & set(_tables_named(d))]
        return set(inspect(connection).get_table_names()), ours

    async with database.engine.connect() as connection:
        tables, diff = await connection.run_sync(differences)

    assert tables >= AUTH_TABLES
    assert diff == []
