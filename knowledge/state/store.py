"""The knowledge state in the database, read and written synchronously (worker threads, CLI).

What is here is what every worker must agree on: which sources are indexed (per collection),
the FAQ additions, and the generation number. Chroma holds the vectors; each worker's BM25
index is a cache rebuilt from Chroma when the generation moves.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Connection, Engine, Table, delete, func, select, update

from core.storage.db import storage_errors
from core.storage.sync import create_sync_engine, ensure_migrated
from knowledge.loaders.faq import question_key
from knowledge.manifest import SourceEntry
from knowledge.state.lock import WriterLock, writer_lock_for
from knowledge.state.models import (
    KnowledgeAddition,
    KnowledgeGeneration,
    KnowledgePhrasing,
    KnowledgeSource,
)

NOTIFY_CHANNEL = "kefu_knowledge"
"""On PostgreSQL every generation bump also sends ``NOTIFY kefu_knowledge, '<generation>'`` in
the same transaction, so a change made by ``kefu kb ingest`` reaches listening workers too."""


@dataclass(slots=True, frozen=True)
class Addition:
    """One FAQ entry added by hand (``/kb add``) or by approving a review candidate."""

    id: str
    question: str
    answer: str
    category: str | None = None
    language: str | None = None
    alternatives: tuple[str, ...] = field(default=())


GENERATIONS = cast(Table, KnowledgeGeneration.__table__)
SOURCES = cast(Table, KnowledgeSource.__table__)
ADDITIONS = cast(Table, KnowledgeAddition.__table__)
PHRASINGS = cast(Table, KnowledgePhrasing.__table__)
GENERATION = select(KnowledgeGeneration.generation).where(KnowledgeGeneration.id == 1)


def _now() -> datetime:
    return datetime.now(UTC)


class KnowledgeState:
    """Manifest, additions and generation of one collection, in the application's database.

    Args:
        engine: A synchronous engine (see :func:`core.storage.sync.create_sync_engine`).
        collection: The Chroma collection this manifest describes.
        lock: The cross-process writer lock; by default the right one for the engine.
    """

    def __init__(self, engine: Engine, collection: str, lock: WriterLock | None = None) -> None:
        self._engine = engine
        self.collection = collection
        self._lock = lock or writer_lock_for(engine)
        self.host = socket.gethostname()

    @classmethod
    def open(cls, database_url: str, collection: str) -> KnowledgeState:
        """Connects to the database (applying migrations if its tables are missing).

        Raises:
            StorageError: the database is unusable.
        """
        engine = create_sync_engine(database_url)
        ensure_migrated(engine, KnowledgePhrasing.__tablename__)  # the newest knowledge table
        return cls(engine, collection)

    def close(self) -> None:
        self._engine.dispose()

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Holds the writer lock: one knowledge change at a time across every process."""
        with self._lock.hold():
            yield

    # -- reading ---------------------------------------------------------------------------

    def generation(self) -> int:
        """The current knowledge generation (one small SELECT)."""
        with storage_errors("read the knowledge generation"), self._engine.connect() as db:
            return int(db.scalar(GENERATION) or 0)

    def sources(self) -> dict[str, SourceEntry]:
        """The manifest of this collection: source name -> file and content hash."""
        table = SOURCES
        query = select(table.c.source, table.c.path, table.c.root, table.c.sha256, table.c.host)
        with storage_errors("read the knowledge manifest"), self._engine.connect() as db:
            rows = db.execute(query.where(table.c.collection == self.collection)).all()
        return {
            row.source: SourceEntry(path=row.path, root=row.root, sha256=row.sha256, host=row.host)
            for row in rows
        }

    def additions(self) -> list[Addition]:
        """Live FAQ additions, oldest first."""
        table = ADDITIONS
        query = (
            select(table)
            .where(table.c.deleted_at.is_(None))
            .order_by(table.c.created_at, table.c.id)
        )
        with storage_errors("read the FAQ additions"), self._engine.connect() as db:
            rows = db.execute(query).all()
        return [
            Addition(
                id=row.id,
                question=row.question,
                answer=row.answer,
                category=row.category,
                language=row.language,
                alternatives=tuple(row.alternatives or ()),
            )
            for row in rows
        ]

    def addition_ids(self) -> set[str]:
        """Ids of every addition ever saved, deleted ones included."""
        table = ADDITIONS
        with storage_errors("read the FAQ additions"), self._engine.connect() as db:
            return set(db.scalars(select(table.c.id)))

    def learned_phrasings(self) -> dict[str, tuple[str, ...]]:
        """Phrasings learned for FAQ entries after they were written: faq id -> phrasings,
        oldest first."""
        table = PHRASINGS
        query = select(table.c.faq_id, table.c.phrasing).order_by(table.c.id)
        with storage_errors("read the learned FAQ phrasings"), self._engine.connect() as db:
            rows = db.execute(query).all()
        learned: dict[str, list[str]] = {}
        for row in rows:
            learned.setdefault(row.faq_id, []).append(row.phrasing)
        return {faq_id: tuple(phrasings) for faq_id, phrasings in learned.items()}

    # -- writing (under :meth:`writing`) ---------------------------------------------------

    def save_phrasing(self, faq_id: str, phrasing: str, origin: str) -> bool:
        """Learns another way of asking ``faq_id``; False when it was known already."""
        table = PHRASINGS
        key = hashlib.sha1(question_key(phrasing).encode("utf-8")).hexdigest()
        known = select(table.c.id).where(table.c.faq_id == faq_id, table.c.phrasing_key == key)
        row = {
            "faq_id": faq_id,
            "phrasing": phrasing,
            "phrasing_key": key,
            "origin": origin,
            "created_at": _now(),
        }
        with storage_errors("save a learned FAQ phrasing"), self._engine.begin() as db:
            if db.execute(known).first() is not None:
                return False
            db.execute(table.insert().values(row))
        return True

    def save_addition(self, addition: Addition) -> None:
        """Inserts or replaces an addition (a deleted one with the same id comes back).

        Replacing keeps the entry's alternative phrasings unless ``addition`` brings its own:
        re-adding a question with a better answer must not drop its aliases.
        """
        table = ADDITIONS
        now = _now()
        values: dict[str, object] = {
            "question": addition.question,
            "answer": addition.answer,
            "category": addition.category,
            "language": addition.language,
            "updated_at": now,
            "deleted_at": None,
        }
        if addition.alternatives:
            values["alternatives"] = list(addition.alternatives)
        with storage_errors("save an FAQ addition"), self._engine.begin() as db:
            found = db.execute(
                update(table).where(table.c.id == addition.id).values(**values)
            ).rowcount
            if not found:
                row = {**values, "id": addition.id, "created_at": now}
                row["alternatives"] = list(addition.alternatives)
                db.execute(table.insert().values(row))

    def delete_additions(self, ids: Iterable[str] | None = None) -> int:
        """Marks additions deleted (all of them when ``ids`` is None); returns how many."""
        table = ADDITIONS
        query = update(table).where(table.c.deleted_at.is_(None))
        if ids is not None:
            query = query.where(table.c.id.in_(list(ids)))
        with storage_errors("delete FAQ additions"), self._engine.begin() as db:
            return int(db.execute(query.values(deleted_at=_now())).rowcount)

    def commit_change(
        self, entries: Mapping[str, SourceEntry], removed: Iterable[str], *, bump: bool
    ) -> int:
        """Writes manifest rows, drops removed ones and (if ``bump``) moves the generation, in
        one transaction. Returns the generation afterwards."""
        table = SOURCES
        now = _now()
        with storage_errors("save the knowledge manifest"), self._engine.begin() as db:
            mine = table.c.collection == self.collection
            names = set(removed) | set(entries)
            for start in range(0, len(names), 500):
                part = sorted(names)[start : start + 500]
                db.execute(delete(table).where(mine, table.c.source.in_(part)))
            rows = [
                {
                    "collection": self.collection,
                    "source": source,
                    "path": entry.path,
                    "root": entry.root,
                    "sha256": entry.sha256,
                    "host": entry.host or self.host,
                    "updated_at": now,
                }
                for source, entry in entries.items()
            ]
            if rows:
                db.execute(table.insert(), rows)
            if bump:
                return self._bump(db, now)
            return int(db.scalar(GENERATION) or 0)

    def bump(self) -> int:
        """Moves the generation by one; returns the new one."""
        with storage_errors("move the knowledge generation"), self._engine.begin() as db:
            return self._bump(db, _now())

    def _bump(self, db: Connection, now: datetime) -> int:
        table = GENERATIONS
        db.execute(
            update(table)
            .where(table.c.id == 1)
            .values(generation=table.c.generation + 1, updated_at=now)
        )
        generation = int(db.scalar(select(table.c.generation).where(table.c.id == 1)) or 0)
        if db.dialect.name == "postgresql":
            db.execute(select(func.pg_notify(NOTIFY_CHANNEL, str(generation))))
        return generation


__all__ = ["NOTIFY_CHANNEL", "Addition", "KnowledgeState"]
