"""One knowledge change carried out: load what changed, embed it, write it to Chroma, and
delete chunks that are stale.

The caller holds the writer lock, reads the manifest from the database, and afterwards
rebuilds its lexical index (when :attr:`Applied.changed`) and commits the manifest rows.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog

from core.errors import LoaderError
from knowledge.chunking import Chunk, Chunker
from knowledge.embeddings import Embedder, embed_or_raise
from knowledge.loaders import LoadedSource, load_source
from knowledge.manifest import SourceEntry, file_sha256
from knowledge.sources import ChangePlan
from knowledge.state.additions import ADDITIONS_SOURCE, additions_digest, additions_source
from knowledge.store import ChunkStore, Phrasings
from knowledge.types import IngestReport

log = structlog.get_logger(__name__)


@dataclass(slots=True, frozen=True)
class Applied:
    """What a change did."""

    report: IngestReport
    """Counts by source; ``chunks`` is filled in by the caller after it rebuilds its index."""
    rows: dict[str, SourceEntry]
    """Manifest rows to write (new or different)."""
    removed: set[str]
    """Sources whose manifest rows go."""
    changed: bool
    """Whether Chroma changed (chunks written or deleted, or a source dropped)."""


def learned_key(chunk: Chunk) -> str:
    """What learned phrasings of an FAQ chunk are filed under: its id, else its question."""
    return chunk.doc_id or chunk.question or chunk.chunk_id


class Indexer:
    """Applies change plans to one Chroma collection.

    Args:
        store: The collection.
        embedder: Embeds new chunks.
        chunker: Splits loaded sources.
        max_bytes: Largest source file accepted.
        host: This machine's name, recorded with each file it indexed.
        learned: Phrasings learned for FAQ entries since they were written (faq id ->
            phrasings), read when phrasings are written.
    """

    def __init__(
        self,
        store: ChunkStore,
        embedder: Embedder,
        chunker: Chunker,
        max_bytes: int,
        host: str,
        learned: Callable[[], Mapping[str, Sequence[str]]] = dict,
    ) -> None:
        self._store = store
        self._embedder = embedder
        self._chunker = chunker
        self._max_bytes = max_bytes
        self._host = host
        self._learned = learned

    def apply(
        self,
        plan: ChangePlan,
        manifest: Mapping[str, SourceEntry],
        indexed: Mapping[str, set[str]],
    ) -> Applied:
        """Indexes ``plan``.

        Args:
            plan: What to look at.
            manifest: The manifest as the database has it now.
            indexed: Chunk ids per source in the collection now.

        Raises:
            KnowledgeError: Embedding or the vector store failed.
        """
        failed = dict(plan.failed)
        removed = set(plan.removed) | ({ADDITIONS_SOURCE} if plan.additions == [] else set())
        skipped: dict[str, tuple[str, ...]] = {}
        changed: dict[str, list[Chunk]] = {}
        entries: dict[str, SourceEntry] = {}
        unchanged = len(plan.kept)
        for source, entry, load in self._candidates(plan, failed):
            previous = manifest.get(source)
            if previous and previous.sha256 == entry.sha256 and source in indexed:
                unchanged += 1
                entries[source] = entry
                continue
            try:
                loaded = load()
            except LoaderError as error:
                failed[source] = str(error)
                log.warning("kb.source.failed", source=source, reason=str(error))
                continue
            entries[source] = entry
            if loaded.skipped:
                skipped[source] = loaded.skipped
            chunks = self._chunker.chunks(loaded)
            if {c.chunk_id for c in chunks} == indexed.get(source, set()):
                unchanged += 1
            else:
                changed[source] = chunks
        embedded, touched = self._write(changed, indexed, removed)
        added = sum(1 for source in changed if source not in indexed)
        deleted = sum(1 for source in removed if source in indexed or source in manifest)
        report = IngestReport(
            added=added,
            updated=len(changed) - added,
            deleted=deleted,
            unchanged=unchanged,
            failed=failed,
            skipped=skipped,
            embedded=embedded,
        )
        rows = {source: e for source, e in entries.items() if manifest.get(source) != e}
        return Applied(report, rows, removed, touched or bool(deleted))

    def _candidates(
        self, plan: ChangePlan, failed: dict[str, str]
    ) -> Iterator[tuple[str, SourceEntry, Callable[[], LoadedSource]]]:
        """Each source to look at, with its manifest entry and how to load it."""
        for source, (path, root) in sorted(plan.files.items()):
            try:
                digest = file_sha256(path)
            except OSError as error:
                failed[source] = f"cannot read file: {error.strerror or error}"
                continue
            entry = SourceEntry(str(path), str(root), digest, self._host)
            yield source, entry, functools.partial(self._load, path, source)
        if plan.additions:
            additions = plan.additions
            entry = SourceEntry("", "", additions_digest(additions))
            yield ADDITIONS_SOURCE, entry, lambda: additions_source(additions)

    def _load(self, path: Path, source: str) -> LoadedSource:
        return load_source(path, source, self._max_bytes)

    def _write(
        self,
        changed: Mapping[str, list[Chunk]],
        indexed: Mapping[str, set[str]],
        removed: Iterable[str],
    ) -> tuple[int, bool]:
        """Embeds and writes new chunks, deletes stale ones; returns (embedded, changed)."""
        new_chunks = [chunk for chunks in changed.values() for chunk in chunks]
        stored = self._store.existing([c.chunk_id for c in new_chunks])
        to_embed = [c for c in new_chunks if c.chunk_id not in stored]
        vectors = embed_or_raise(self._embedder.embed_passages, [c.search_text() for c in to_embed])
        self._store.upsert(to_embed, vectors)
        self.write_phrasings(self.phrasings(to_embed))
        stale: list[str] = []
        for source, chunks in changed.items():
            keep = {c.chunk_id for c in chunks}
            stale.extend(i for i in indexed.get(source, ()) if i not in keep)
        for source in removed:
            stale.extend(indexed.get(source, ()))
        self._store.delete(stale)
        return len(to_embed), bool(new_chunks or stale)

    def phrasings(self, chunks: Sequence[Chunk]) -> Phrasings:
        """The FAQ chunks among ``chunks`` with the phrasings to match each by: the entry's own
        alternatives and those learned since (``learned``)."""
        learned = self._learned()
        found = []
        for chunk in chunks:
            if chunk.kind != "faq":
                continue
            texts = (*chunk.phrasings, *learned.get(learned_key(chunk), ()))
            unique = list(dict.fromkeys(t.strip() for t in texts if t.strip()))
            if unique:
                found.append((chunk, unique))
        return found

    def write_phrasings(self, phrasings: Phrasings) -> int:
        """Embeds phrasings as queries and stores them; returns how many were written."""
        texts = [text for _, chunk_texts in phrasings for text in chunk_texts]
        if texts:
            vectors = embed_or_raise(self._embedder.embed_queries, texts)
            self._store.upsert_phrasings(phrasings, vectors)
        return len(texts)

    def backfill_phrasings(self, chunks: Sequence[Chunk]) -> int:
        """Stores the phrasings of stored FAQ chunks that are missing (an index written before
        phrasings were, or one learned by another process); returns how many were written."""
        written = self.write_phrasings(self._store.missing_phrasings(self.phrasings(chunks)))
        if written:
            log.info("kb.phrasings.backfilled", phrasings=written)
        return written
