"""One knowledge writer at a time, across every process that shares the database.

PostgreSQL: a transaction-scoped advisory lock on a connection of its own, released when the
change ends or the process dies. SQLite: a file lock next to the database file (processes on
one machine share an SQLite file, so they share the lock too); holding SQLite's own write lock
instead would stall every conversation write while a reload embeds. In-memory SQLite: a lock in
this process.
"""

from __future__ import annotations

import contextlib
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import filelock
import structlog
from sqlalchemy import Engine, func, select

from core.storage.db import storage_errors
from core.storage.sync import sqlite_file

log = structlog.get_logger(__name__)

LOCK_CLASS = 0x6B656675  # "kefu": first key of the two-key advisory lock form
LOCK_KNOWLEDGE = zlib.crc32(b"knowledge.writer") & 0x7FFFFFFF
"""Two int4 keys never collide with the one-bigint keys other rooms lock conversations with."""


class WriterLock(Protocol):
    def hold(self) -> contextlib.AbstractContextManager[None]:
        """Blocks until no other writer holds the lock, and holds it for the ``with`` block."""
        ...


class AdvisoryWriterLock:
    """PostgreSQL ``pg_advisory_xact_lock`` on a connection held for the whole change."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        with storage_errors("take the knowledge writer lock"):
            connection = self._engine.connect()
        try:
            with storage_errors("take the knowledge writer lock"):
                got = connection.scalar(
                    select(func.pg_try_advisory_xact_lock(LOCK_CLASS, LOCK_KNOWLEDGE))
                )
                if not got:
                    log.info("kb.writer.waiting")
                    connection.execute(
                        select(func.pg_advisory_xact_lock(LOCK_CLASS, LOCK_KNOWLEDGE))
                    )
            yield
        finally:
            # Rolling back ends the transaction, which releases the lock.
            with contextlib.suppress(Exception):
                connection.rollback()
            connection.close()


class FileWriterLock:
    """An exclusive lock on a file (``flock``), shared by processes on one machine."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        # A new FileLock per hold: each has its own descriptor, so two holders in one process
        # (two knowledge bases in tests) exclude each other just like two processes.
        lock = filelock.FileLock(self.path, thread_local=False)
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            log.info("kb.writer.waiting", lock=str(self.path))
            lock.acquire()
        try:
            yield
        finally:
            lock.release()


class ProcessWriterLock:
    """For an in-memory database, which no other process can open."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        with self._lock:
            yield


def writer_lock_for(engine: Engine) -> WriterLock:
    """The right lock for the engine's database."""
    if engine.dialect.name == "postgresql":
        return AdvisoryWriterLock(engine)
    path = sqlite_file(engine.url)
    if path is None:
        return ProcessWriterLock()
    return FileWriterLock(path.with_name(path.name + ".kb-writer.lock"))
