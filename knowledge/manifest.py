"""Which source files the index was built from, with their content hashes.

The manifest lives in the database (``knowledge.state``), written last by every change, so a
change that fails half-way leaves it describing the previous, still-answering index; the next
reload sees the difference and finishes the job. :class:`Manifest` reads the JSON files that
older versions kept in the data folder, once, to import them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
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
    host: str = ""
    """Machine that indexed the file ("" in manifests written before the database kept them)."""


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Manifest:
    """Source name -> :class:`SourceEntry`, as older versions stored it in the data folder."""

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
