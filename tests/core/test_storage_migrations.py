"""Alembic migrations: from empty, at every start, every room's branch, and in step with the
models. Runs on every backend (see conftest.py)."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

from core.storage import Database, db, upgrade_sync
from core.storage.models import Base

REPO = Path(__file__).resolve().parents[2]
STORE_TABLES = {"customers", "conversations", "events", "inbox", "outbox"}

BRANCH_REVISION = """
import sqlalchemy as sa
from alembic import op

revision = "0002_{room}"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "{room}_notes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("conversation_id", sa.Integer(), sa.ForeignKey("conversations.id")),
    )


def downgrade() -> None:
    op.drop_table("{room}_notes")
"""


def script_heads(migrations: Path = db.MIGRATIONS_DIR) -> set[str]:
    config = db.alembic_config()
    config.set_main_option("script_location", str(migrations))
    return set(ScriptDirectory.from_config(config).get_heads())


async def tables_and_heads(database: Database) -> tuple[set[str], set[str]]:
    def read(connection: Connection) -> tuple[set[str], set[str]]:
        tables = set(inspect(connection).get_table_names())
        heads = set(MigrationContext.configure(connection).get_current_heads())
        return tables, heads

    async with database.engine.connect() as connection:
        return await connection.run_sync(read)


async def test_migrating_an_empty_database_creates_the_store(database: Database) -> None:
    tables, heads = await tables_and_heads(database)

    assert tables >= STORE_TABLES | {"alembic_version"}
    assert heads == script_heads()


def is_store_table(name: str | None, type_: str) -> bool:
    """Compare only this room's tables; other rooms check their own."""
    return type_ != "table" or name in STORE_TABLES


async def test_the_models_match_the_migrations(database: Database) -> None:
    def differences(connection: Connection) -> list[object]:
        options = {
            "compare_type": True,
            "compare_server_default": True,
            "include_name": lambda name, type_, _parents: is_store_table(name, type_),
            "include_object": lambda _obj, name, type_, _reflected, _other: is_store_table(
                name, type_
            ),
        }
        context = MigrationContext.configure(connection, opts=options)
        return list(compare_metadata(context, Base.metadata))

    async with database.engine.connect() as connection:
        diff = await connection.run_sync(differences)

    assert diff == []


def migrations_with(
    revisions: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A copy of the project's migrations plus ``revisions`` (file name -> source), used by
    every Database in this test."""
    migrations = tmp_path / "migrations"
    shutil.copytree(db.MIGRATIONS_DIR, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    for name, source in revisions.items():
        (migrations / "versions" / name).write_text(source)
    monkeypatch.setattr(db, "MIGRATIONS_DIR", migrations)
    return migrations


async def test_every_rooms_migration_branch_is_applied(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rooms = ("handoff", "feedback")
    revisions = {f"0002_{room}.py": BRANCH_REVISION.replace("{room}", room) for room in rooms}
    migrations = migrations_with(revisions, tmp_path, monkeypatch)

    database = Database(database_url)
    try:
        await database.upgrade()
        await database.upgrade()  # nothing left to do: must not fail
        tables, heads = await tables_and_heads(database)
    finally:
        await database.dispose()

    assert {"handoff_notes", "feedback_notes"} | STORE_TABLES <= tables
    assert {"0002_handoff", "0002_feedback"} <= heads
    assert heads == script_heads(migrations)


async def test_a_failing_migration_leaves_nothing_half_done(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = BRANCH_REVISION.replace("{room}", "broken").replace(
        "def downgrade", "    raise RuntimeError('migration bug')\n\n\ndef downgrade"
    )
    migrations_with({"0002_broken.py": broken}, tmp_path, monkeypatch)

    database = Database(database_url)
    try:
        with pytest.raises(RuntimeError, match="migration bug"):
            await database.upgrade()
        tables, heads = await tables_and_heads(database)
    finally:
        await database.dispose()

    assert not tables & ({"broken_notes", "alembic_version"} | STORE_TABLES)
    assert heads == set()


async def test_workers_starting_together_all_migrate(database_url: str) -> None:
    # Two processes and three in-process Database objects upgrade the same empty database.
    script = "import sys; from core.storage import upgrade_sync; upgrade_sync(sys.argv[1])"
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, database_url, stderr=asyncio.subprocess.PIPE
        )
        for _ in range(2)
    ]
    databases = [Database(database_url) for _ in range(3)]
    try:
        await asyncio.gather(*(database.upgrade() for database in databases))
        errors = [(await process.communicate())[1].decode() for process in processes]
        tables, heads = await tables_and_heads(databases[0])
    finally:
        for database in databases:
            await database.dispose()

    assert [process.returncode for process in processes] == [0, 0], errors
    assert tables >= STORE_TABLES
    assert heads == script_heads()


async def test_kefu_db_upgrade_helper_migrates_from_synchronous_code(database_url: str) -> None:
    # upgrade_sync runs its own event loop, as the CLI does: call it from a plain thread.
    await asyncio.to_thread(upgrade_sync, database_url)

    database = Database(database_url)
    try:
        tables, heads = await tables_and_heads(database)
    finally:
        await database.dispose()

    assert tables >= STORE_TABLES
    assert heads == script_heads()


async def test_the_alembic_command_works_from_any_folder(database_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "KEFU_STORAGE__DATABASE_URL": database_url}
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "alembic", "-c", str(REPO / "alembic.ini"), "upgrade", "heads"),
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()

    database = Database(database_url)
    try:
        tables, heads = await tables_and_heads(database)
    finally:
        await database.dispose()

    assert tables >= STORE_TABLES
    assert heads == script_heads()
