"""The knowledge tables: what the migration creates is what the models declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from core.storage.models import Base
from core.storage.sync import create_sync_engine, ensure_migrated
from knowledge.state.models import KNOWLEDGE_TABLES, KnowledgeGeneration


def is_knowledge_table(name: str | None, type_: str) -> bool:
    return type_ != "table" or name in KNOWLEDGE_TABLES


def test_the_models_match_the_migration_and_the_generation_starts_at_zero(
    database_url: str,
) -> None:
    engine = create_sync_engine(database_url)
    try:
        ensure_migrated(engine, KnowledgeGeneration.__tablename__)
        with engine.connect() as connection:
            options = {
                "compare_type": True,
                "compare_server_default": True,
                "include_name": lambda name, type_, _parents: is_knowledge_table(name, type_),
                "include_object": lambda _obj, name, type_, _reflected, _other: is_knowledge_table(
                    name, type_
                ),
            }
            context = MigrationContext.configure(connection, opts=options)
            diff = list(compare_metadata(context, Base.metadata))
            generation = connection.scalar(select(KnowledgeGeneration.generation))
    finally:
        engine.dispose()

    assert diff == []
    assert generation == 0
