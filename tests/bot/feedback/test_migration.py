"""Migration 0004_feedback creates exactly the feedback room's tables as its models declare."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect

import bot.feedback.models  # noqa: F401  (registers the tables on Base)
from core.storage import Database
from core.storage.models import Base

FEEDBACK_TABLES = {"gold_candidates", "feedback_scan_cursors"}


async def test_the_feedback_tables_match_their_models(database: Database) -> None:
    def differences(connection: Connection) -> tuple[set[str], list[object]]:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        diff = compare_metadata(context, Base.metadata)
        ours = [d for d in diff if FEEDBACK_TABLES & set(_tables_named(d))]
        return set(inspect(connection).get_table_names()), ours

    async with database.engine.connect() as connection:
        tables, diff = await connection.run_sync(differences)

    assert tables >= FEEDBACK_TABLES
    assert diff == []


def _tables_named(difference: Any) -> list[str]:
    """Table names mentioned by one autogenerate difference (a tuple or a list of tuples)."""
    items = difference if isinstance(difference, list) else [difference]
    names: list[str] = []
    for item in items:
        for part in item:
            name = getattr(part, "name", None) if not isinstance(part, str) else part
            table = getattr(part, "table", None)
            names += [n for n in (name, getattr(table, "name", None)) if isinstance(n, str)]
    return names
