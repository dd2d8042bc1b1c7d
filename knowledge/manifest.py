"""Which source files the index was built from, with their content hashes.

Written last by every change, so a change that fails half-way leaves the manifest describing
the previous, still-answering index; the next reload sees the difference and finishes the job.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

MANIFEST_VERSION = 1


@dataclass(slots=True, frozen=True)
class SourceEntry:
    path: str
    """Absolute path of the file when it was indexed."""
    root: str
    """The folder ``source`` is relative to; a reload ignores entries whose root is gone."""
    sha256: str


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_atomic(path: Path, text: str) -> None:
    """Replaces ``path`` with ``text`` so readers see the old or the new file, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class Manifest:
    """Source name -> :class:`SourceEntry`, stored as JSON next to the index."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, SourceEntry] = {}

    @classmethod
    def load(cls, path: Path) -> Manifest:
        """Reads the manifest; a missing or unreadable one is empty (everything re-hashed)."""
        manifest = cls(path)
        if not path.exists():
            return manifest
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            manifest.entries = {
                source: SourceEntry(**entry) for source, entry in data["sources"].items()
            }
        except (OSError, ValueError, KeyError, TypeError) as error:
            log.warning("kb.manifest.unreadable", path=str(path), error=str(error))
        return manifest

    def save(self) -> None:
        data = {
            "version": MANIFEST_VERSION,
            "sources": {source: asdict(entry) for source, entry in sorted(self.entries.items())},
        }
        write_atomic(self.path, json.dumps(data, ensure_ascii=False, indent=1))

    def get(self, source: str) -> SourceEntry | None:
        return self.entries.get(source)

    def __iter__(self) -> Iterator[tuple[str, SourceEntry]]:
        return iter(list(self.entries.items()))
