"""The knowledge base: what the bot, the admin commands and the CLI call.

Sync APIs (the async pipeline calls them through ``asyncio.to_thread``). Searches may run from
many threads at once. Changes (ingest, reload, add, delete) run one at a time across every
process on the database (the writer lock of ``knowledge.state``): a change reads the manifest
and additions from the database, embeds, writes new chunks to Chroma, deletes stale ones, swaps
in the new BM25 snapshot, then writes the manifest and moves the knowledge generation in one
transaction. If it fails anywhere, the previous index keeps answering and the next reload
finishes the job.

Several workers share one database and one Chroma: each keeps its BM25/FAQ matcher (the
lexical index) in memory, and :meth:`KnowledgeBase.refresh_if_changed` rebuilds it from Chroma
when the generation moved. Call it when another worker says knowledge changed (the
``on_changed`` hook of the worker that changed it), and periodically
(:func:`knowledge.refresh.keep_fresh`), since ``kefu kb ingest`` publishes nothing.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import structlog

from core.errors import InputError, KnowledgeError
from core.settings import KnowledgeSettings
from knowledge.calibration import calibration_for
from knowledge.chunking import Chunk, Chunker
from knowledge.embeddings import Embedder, make_embedder
from knowledge.indexing import Applied, Indexer, learned_key
from knowledge.lexical import ChunkFields, LexicalIndex, TokenCache
from knowledge.loaders.faq import question_key
from knowledge.query_cache import CachedQueryEmbedder
from knowledge.retrieval import (
    CrossEncoderReranker,
    FusionWeights,
    Hit,
    HybridRetriever,
    RetrievalMode,
)
from knowledge.sources import ChangePlan, plan_ingest, plan_reload
from knowledge.state import ADDITIONS_SOURCE, KnowledgeState
from knowledge.state.additions import (
    ADDITION_PREFIX,
    is_addition,
    new_addition,
    with_alternative,
)
from knowledge.state.legacy import import_data_dir_files
from knowledge.store import ChunkStore, make_client
from knowledge.types import IngestReport, KBStats, Passage, SourceDetails

__all__ = ["ADDITIONS_FILE", "ADDITIONS_SOURCE", "KnowledgeBase", "OnChanged", "collection_name"]

ADDITIONS_FILE = ADDITIONS_SOURCE
"""The FAQ additions' source name (kept from when they lived in a data-folder file)."""

OnChanged = Callable[[int], None]
"""Called with the new generation after this process changed the knowledge (in the thread that
made the change: hand it to the event loop with ``loop.call_soon_threadsafe``)."""

log = structlog.get_logger(__name__)


def collection_name(prefix: str, embedder_name: str) -> str:
    """``kefu-e5-small``: one collection per embedder, as vectors of different models mix badly."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{prefix}-{embedder_name}").strip("-._")
    return name if len(name) >= 3 else f"{name}-kb"


class KnowledgeBase:
    """Chunks from the source folders, searchable by meaning and by words.

    Build with :meth:`open`.

    Args:
        settings: Knowledge settings.
        data_dir: Where the embedded Chroma and this process's caches live.
        embedder: Embeds passages and queries; queries go through the one query cache,
            ``self.embedder``, which the retriever and the intent classifier share.
        store: The Chroma collection.
        state: The manifest, additions and generation in the database.
        on_changed: Called with the new generation after each change this process made.
    """

    def __init__(
        self,
        settings: KnowledgeSettings,
        data_dir: Path,
        embedder: Embedder,
        store: ChunkStore,
        state: KnowledgeState,
        on_changed: OnChanged | None = None,
    ) -> None:
        self.settings = settings
        self.data_dir = data_dir
        self.embedder = CachedQueryEmbedder(embedder)
        self.on_changed = on_changed
        self._store = store
        self._state = state
        self._generation = -1
        self._indexer = Indexer(
            store,
            embedder,
            Chunker(settings.chunk_size, settings.chunk_overlap),
            int(settings.max_file_mb * 1_048_576),
            state.host,
            state.learned_phrasings,
        )
        self._tokens = TokenCache(data_dir / "lexical" / f"{store.name}.npz")
        self._tokens.load()
        self._write_lock = threading.Lock()
        self._lexical = LexicalIndex([], [], [], self._tokens.vocabulary)
        reranker = (
            CrossEncoderReranker(settings.reranker_model, settings.allow_model_download)
            if settings.reranker_model
            else None
        )
        self.retriever = HybridRetriever(
            store=store,
            lexical=lambda: self._lexical,
            query_vectors=self.embedder,
            calibration=calibration_for(embedder.name, settings.calibration_weights),
            weights=FusionWeights(
                rrf_k=settings.rrf_k,
                dense=settings.dense_weight,
                bm25=settings.bm25_weight,
                bm25_coverage_exponent=settings.bm25_coverage_exponent,
                candidates=settings.candidates,
                phrasing_offset=settings.phrasing_offset,
            ),
            mode=settings.retrieval_mode,
            reranker=reranker,
            rerank_candidates=settings.rerank_candidates,
        )

    @classmethod
    def open(
        cls,
        settings: KnowledgeSettings,
        data_dir: Path,
        embedder: Embedder | None = None,
        *,
        database_url: str | None = None,
        on_changed: OnChanged | None = None,
    ) -> KnowledgeBase:
        """Opens (or creates) the index; ingests nothing.

        Manifest and FAQ additions that older versions kept in ``data_dir`` are imported into
        the database once, then renamed ``*.imported``.

        Args:
            settings: Knowledge settings.
            data_dir: Where the embedded Chroma and caches live.
            embedder: Overrides ``settings.embedder`` (tests, benchmarks).
            database_url: The application's database (``KefuSettings.database_url``); default:
                SQLite ``kefu.db`` in ``data_dir``, as the application's own default.
            on_changed: Called with the new generation after each change made here.

        Raises:
            VectorStoreError: Chroma cannot be opened or reached.
            StorageError: The database cannot be opened or migrated.
            ConfigError: The configured embedder cannot be built.
        """
        data_dir.mkdir(parents=True, exist_ok=True)
        embedder = embedder or make_embedder(settings)
        client = make_client(settings.chroma_url, data_dir)
        store = ChunkStore(client, collection_name(settings.collection, embedder.name))
        url = database_url or f"sqlite+aiosqlite:///{(data_dir / 'kefu.db').resolve()}"
        state = KnowledgeState.open(url, store.name)
        kb = cls(settings, data_dir, embedder, store, state, on_changed)
        with kb._write_lock, state.writing():
            import_data_dir_files(state, data_dir)
            # one scan builds the lexical index and finds FAQ entries missing their phrasings
            kb._indexer.backfill_phrasings(kb._catch_up() or [])
        log.info("kb.opened", collection=store.name, chunks=len(kb._lexical))
        return kb

    def close(self) -> None:
        """Closes the database and Chroma connections (the object must not be used afterwards)."""
        self._state.close()
        self._store.close()

    @property
    def generation(self) -> int:
        """The knowledge generation this process's lexical index was built at."""
        return self._generation

    def refresh_if_changed(self) -> bool:
        """Rebuilds the lexical index from Chroma if another process changed the knowledge.

        One small SELECT when nothing changed. Skipped while this process is changing the
        knowledge itself (that change rebuilds the index when it ends).

        Returns:
            Whether the index was rebuilt.

        Raises:
            StorageError: The database cannot be read.
            VectorStoreError: Chroma cannot be read; the previous index keeps answering.
        """
        if self._state.generation() == self._generation:
            return False
        if not self._write_lock.acquire(blocking=False):
            return False
        try:
            return self._catch_up() is not None
        finally:
            self._write_lock.release()

    # -- reading ---------------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int = 5,
        filters: Mapping[str, str] | None = None,
        *,
        mode: RetrievalMode | None = None,
    ) -> list[Passage]:
        """The ``k`` most relevant chunks, best first, each with a calibrated ``score``.

        Args:
            query: The customer's question, any language.
            k: How many passages.
            filters: Exact matches on ``source``, ``category``, ``kind``, ``language`` or
                ``doc_id``.
            mode: Override the configured ranking (hybrid, dense, bm25).

        Raises:
            InputError: Unknown filter field.
            KnowledgeError: The embedder or vector store failed.
        """
        return [
            hit.chunk.to_passage(hit.score, rank)
            for rank, hit in enumerate(self.hits(query, k, filters, mode=mode), start=1)
        ]

    def corrected(self, question: str) -> str:
        """``question`` with misspellings corrected to the knowledge base's words ("warrenty"
        -> "warranty", 保休 -> 保修; see :mod:`knowledge.spelling`)."""
        return self._lexical.spelling.correct(question)

    def hits(
        self,
        query: str,
        k: int = 5,
        filters: Mapping[str, str] | None = None,
        *,
        mode: RetrievalMode | None = None,
    ) -> list[Hit]:
        """Like :meth:`search`, with the features behind each score (benchmarks, debugging)."""
        return self.retriever.hits(query, k, filters, mode)

    def is_empty(self) -> bool:
        return len(self._lexical) == 0

    def stats(self) -> KBStats:
        lexical = self._lexical
        return KBStats(
            sources=len({f.source for f in lexical.fields}),
            chunks=len(lexical),
            faq_entries=sum(1 for f in lexical.fields if f.kind == "faq"),
            embedder=self.embedder.name,
            collection=self._store.name,
            generation=self._generation,
        )

    def check_store(self) -> int:
        """Asks the vector store for its chunk count (readiness checks: is Chroma reachable?).

        Raises:
            VectorStoreError: Chroma cannot be reached.
        """
        return self._store.count()

    def sources(self) -> dict[str, int]:
        """Chunk count per source."""
        counts: dict[str, int] = {}
        for fields in self._lexical.fields:
            counts[fields.source] = counts.get(fields.source, 0) + 1
        return counts

    def source_details(self) -> list[SourceDetails]:
        """Each indexed source: chunks, kind (faq, doc or both) and when its file last changed."""
        kinds: dict[str, set[str]] = {}
        for fields in self._lexical.fields:
            kinds.setdefault(fields.source, set()).add(fields.kind)
        details = []
        manifest = self._state.sources()
        for source, chunks in sorted(self.sources().items()):
            entry = manifest.get(source)
            path = Path(entry.path) if entry else self.data_dir / source
            modified = path.stat().st_mtime if path.is_file() else None
            kind = "+".join(sorted(kinds.get(source, set()))) or "—"
            details.append(SourceDetails(source, chunks, kind, str(path), modified))
        return details

    # -- changing --------------------------------------------------------------------------

    def ingest(self, paths: Sequence[Path]) -> IngestReport:
        """Adds or updates the given files (folders: every supported file inside).

        Files outside ``source_dirs`` are remembered, so later reloads keep them in sync.
        No other source is removed. Files that cannot be parsed are listed in ``failed``.

        Raises:
            KnowledgeError: Embedding or the vector store failed; the index is unchanged.
        """
        plan = plan_ingest(paths, self.settings.source_dirs, self.settings.exclude)
        return self._change(lambda: plan)

    def reload(self) -> IngestReport:
        """Brings the index in line with the source folders, re-embedding only what changed.

        Sources are the files under ``source_dirs``, files added with :meth:`ingest` (by any
        process on this database), and the FAQ additions. Removed files lose their chunks;
        files that fail to parse keep their previous chunks and are listed in ``failed``.

        Raises:
            KnowledgeError: Embedding or the vector store failed; the previous index answers.
        """

        def plan() -> ChangePlan:
            found = plan_reload(
                self.settings.source_dirs,
                self.settings.exclude,
                self._state.sources(),
                {f.source for f in self._lexical.fields},
                self._state.host,
            )
            found.additions = self._state.additions()
            return found

        return self._change(plan)

    def add_faq(self, question: str, answer: str, category: str | None = None) -> str:
        """Adds one FAQ entry, searchable at once, kept across reloads, seen by every worker.

        The entry is saved in the database (an entry with the same question is replaced),
        then indexed.

        Returns:
            The entry's id (``added-...``), which ``/kb delete`` accepts.

        Raises:
            InputError: Empty question or answer.
            KnowledgeError: The entry was saved but could not be indexed; a reload retries.
        """
        addition = new_addition(question, answer, category)

        def plan() -> ChangePlan:
            self._state.save_addition(addition)
            return ChangePlan(additions=self._state.additions())

        report = self._change(plan, always_bump=True)
        if ADDITIONS_SOURCE in report.failed:
            raise KnowledgeError(f"FAQ saved but not indexed: {report.failed[ADDITIONS_SOURCE]}")
        return addition.id

    def add_alternative(self, entry: str, phrasing: str, origin: str = "alias") -> str:
        """Adds another way of asking (相似问) to an FAQ entry, matched like its alternatives.

        An entry added by hand (``/kb add``) keeps it with the entry; an entry from a file
        keeps it in the database as a learned phrasing, matched until the entry is gone and
        again after the file is re-indexed.

        Args:
            entry: The entry's id (``added-...``, an FAQ row's id) or its question.
            phrasing: The alternative phrasing.
            origin: Who taught it: ``alias`` (an admin) or ``review`` (an approved candidate).

        Returns:
            The entry's id.

        Raises:
            InputError: Empty phrasing, or no such entry.
            KnowledgeError: Saved but not indexed; a reload retries.
        """
        if not phrasing.strip():
            raise InputError("an alternative phrasing cannot be empty")
        if not is_addition(self._state.additions(), entry):
            return self._learn_phrasing(entry, phrasing.strip(), origin)
        updated: list[str] = []

        def plan() -> ChangePlan:
            addition = with_alternative(self._state.additions(), entry, phrasing)
            self._state.save_addition(addition)
            updated.append(addition.id)
            return ChangePlan(additions=self._state.additions())

        report = self._change(plan, always_bump=True)
        if ADDITIONS_SOURCE in report.failed:
            raise KnowledgeError(f"saved but not indexed: {report.failed[ADDITIONS_SOURCE]}")
        return updated[0]

    def _learn_phrasing(self, entry: str, phrasing: str, origin: str) -> str:
        """Saves a phrasing for an FAQ entry from a file and indexes it at once."""
        key = question_key(entry)
        with self._write_lock, self._state.writing():
            chunks = [
                chunk
                for chunk in self._store.scan()
                if chunk.kind == "faq"
                and (chunk.doc_id == entry.strip() or question_key(chunk.question or "") == key)
            ]
            if not chunks:
                raise InputError(f"no FAQ entry {entry.strip()!r} (use its id or question)")
            faq_id = learned_key(chunks[0])
            if self._state.save_phrasing(faq_id, phrasing, origin):
                self._indexer.write_phrasings([(chunk, [phrasing]) for chunk in chunks])
            log.info("kb.phrasing.learned", faq_id=faq_id, origin=origin)
        return faq_id

    def delete_source(self, source: str) -> int:
        """Removes every chunk of ``source`` (a source name, or one FAQ addition's id);
        returns how many.

        A file still in a source folder comes back on the next reload (delete the file to
        remove it for good). Deleting the additions source deletes every FAQ addition.
        """
        removed_chunks = 0

        def plan() -> ChangePlan:
            nonlocal removed_chunks
            if source.startswith(ADDITION_PREFIX) and self._state.delete_additions([source]):
                removed_chunks = sum(
                    1
                    for f in self._lexical.fields
                    if (f.source, f.doc_id) == (ADDITIONS_SOURCE, source)
                )
                return ChangePlan(additions=self._state.additions())
            removed_chunks = sum(1 for f in self._lexical.fields if f.source == source)
            if source == ADDITIONS_SOURCE:
                self._state.delete_additions()
            return ChangePlan(removed={source})

        self._change(plan)
        log.info("kb.source.deleted", source=source, chunks=removed_chunks)
        return removed_chunks

    # -- internals -------------------------------------------------------------------------

    def _change(self, plan: Callable[[], ChangePlan], *, always_bump: bool = False) -> IngestReport:
        """Runs one change under the writer lock, from a fresh view of the shared state."""
        with self._write_lock, self._state.writing():
            self._catch_up()
            applied = self._apply(plan())
            bump = always_bump or applied.changed
            self._generation = self._state.commit_change(applied.rows, applied.removed, bump=bump)
        if bump and self.on_changed is not None:
            try:
                self.on_changed(self._generation)
            except Exception:  # a failed notification must not fail the change
                log.exception("kb.changed.notify_failed", generation=self._generation)
        return applied.report

    def _catch_up(self) -> list[Chunk] | None:
        """Rebuilds the lexical index if the generation moved (caller holds ``_write_lock``);
        returns the chunks it was built from, or None when nothing moved."""
        generation = self._state.generation()
        if generation == self._generation:
            return None
        # Read the generation first: a change committed during the scan moves it again, and the
        # next check scans again.
        chunks = self._refresh_lexical()
        self._generation = generation
        log.info("kb.refreshed", generation=generation, chunks=len(self._lexical))
        return chunks

    def _apply(self, plan: ChangePlan) -> Applied:
        """Indexes the plan against the manifest in the database and this process's view."""
        indexed: dict[str, set[str]] = {}
        for chunk_id, fields in zip(self._lexical.ids, self._lexical.fields, strict=True):
            indexed.setdefault(fields.source, set()).add(chunk_id)
        applied = self._indexer.apply(plan, self._state.sources(), indexed)
        if applied.changed:
            self._refresh_lexical()
        report = replace(applied.report, chunks=len(self._lexical))
        log.info(
            "kb.ingest.finished",
            added=report.added,
            updated=report.updated,
            deleted=report.deleted,
            unchanged=report.unchanged,
            failed=len(report.failed),
            embedded=report.embedded,
            chunks=report.chunks,
        )
        return replace(applied, report=report)

    def _refresh_lexical(self) -> list[Chunk]:
        """Rebuilds the lexical index from every stored chunk; returns the chunks."""
        chunks = list(self._store.scan())
        self._tokens.ensure((c.chunk_id, c.search_text()) for c in chunks)
        self._tokens.retain(c.chunk_id for c in chunks)
        with contextlib.suppress(OSError):
            self._tokens.save()
        fields = [ChunkFields(c.source, c.kind, c.category, c.language, c.doc_id) for c in chunks]
        self._lexical = LexicalIndex(
            [c.chunk_id for c in chunks],
            [self._tokens.tokens[c.chunk_id] for c in chunks],
            fields,
            self._tokens.vocabulary,
        )
        return chunks
