"""The knowledge base: what the bot, the admin commands and the CLI call.

Sync APIs (the async pipeline calls them through ``asyncio.to_thread``). Searches may run from
many threads at once; changes (ingest, reload, add, delete) take one lock and run one at a time.
A change embeds first, then writes new chunks, then deletes stale ones, then swaps in the new
BM25 snapshot, and writes the manifest last: if it fails anywhere, the previous index keeps
answering and the next reload finishes the job.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import structlog

from core.errors import InputError, KnowledgeError, LoaderError
from core.settings import KnowledgeSettings
from core.text import detect_language
from knowledge.calibration import calibration_for
from knowledge.chunking import Chunk, Chunker
from knowledge.embeddings import Embedder, embed_or_raise, make_embedder
from knowledge.lexical import ChunkFields, LexicalIndex, TokenCache
from knowledge.loaders import LoadedSource, load_source
from knowledge.loaders.faq import question_key
from knowledge.manifest import Manifest, SourceEntry, file_sha256, write_atomic
from knowledge.retrieval import (
    CrossEncoderReranker,
    FusionWeights,
    Hit,
    HybridRetriever,
    RetrievalMode,
)
from knowledge.sources import ADDITIONS_FILE, ChangePlan, plan_ingest, plan_reload
from knowledge.store import ChunkStore, make_client
from knowledge.types import IngestReport, KBStats, Passage

__all__ = ["ADDITIONS_FILE", "KnowledgeBase", "collection_name"]

log = structlog.get_logger(__name__)


def collection_name(prefix: str, embedder_name: str) -> str:
    """``kefu-e5-small``: one collection per embedder, as vectors of different models mix badly."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{prefix}-{embedder_name}").strip("-._")
    return name if len(name) >= 3 else f"{name}-kb"


class KnowledgeBase:
    """Chunks from the source folders, searchable by meaning and by words.

    Build with :meth:`open`.
    """

    def __init__(
        self,
        settings: KnowledgeSettings,
        data_dir: Path,
        embedder: Embedder,
        store: ChunkStore,
    ) -> None:
        self.settings = settings
        self.data_dir = data_dir
        self.embedder = embedder
        self._store = store
        self._chunker = Chunker(settings.chunk_size, settings.chunk_overlap)
        self._manifest = Manifest.load(data_dir / f"kb_manifest.{store.name}.json")
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
            embedder=embedder,
            calibration=calibration_for(embedder.name, settings.calibration_weights),
            weights=FusionWeights(
                rrf_k=settings.rrf_k,
                dense=settings.dense_weight,
                bm25=settings.bm25_weight,
                bm25_coverage_exponent=settings.bm25_coverage_exponent,
                candidates=settings.candidates,
            ),
            mode=settings.retrieval_mode,
            reranker=reranker,
            rerank_candidates=settings.rerank_candidates,
        )

    @classmethod
    def open(
        cls, settings: KnowledgeSettings, data_dir: Path, embedder: Embedder | None = None
    ) -> KnowledgeBase:
        """Opens (or creates) the index in ``data_dir``; ingests nothing.

        Args:
            settings: Knowledge settings.
            data_dir: Where the embedded Chroma, the manifest and caches live.
            embedder: Overrides ``settings.embedder`` (tests, benchmarks).

        Raises:
            VectorStoreError: Chroma cannot be opened or reached.
            ConfigError: The configured embedder cannot be built.
        """
        data_dir.mkdir(parents=True, exist_ok=True)
        embedder = embedder or make_embedder(settings)
        client = make_client(settings.chroma_url, data_dir)
        store = ChunkStore(client, collection_name(settings.collection, embedder.name))
        kb = cls(settings, data_dir, embedder, store)
        kb._refresh_lexical()
        log.info("kb.opened", collection=store.name, chunks=len(kb._lexical))
        return kb

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

    # -- changing --------------------------------------------------------------------------

    def ingest(self, paths: Sequence[Path]) -> IngestReport:
        """Adds or updates the given files (folders: every supported file inside).

        Files outside ``source_dirs`` are remembered, so later reloads keep them in sync.
        No other source is removed. Files that cannot be parsed are listed in ``failed``.

        Raises:
            KnowledgeError: Embedding or the vector store failed; the index is unchanged.
        """
        plan = plan_ingest(paths, self.settings.source_dirs, self.settings.exclude)
        with self._write_lock:
            return self._apply(plan)

    def reload(self) -> IngestReport:
        """Brings the index in line with the source folders, re-embedding only what changed.

        Sources are the files under ``source_dirs``, files added with :meth:`ingest`, and the
        FAQ additions file. Removed files lose their chunks; files that fail to parse keep their
        previous chunks and are listed in ``failed``.

        Raises:
            KnowledgeError: Embedding or the vector store failed; the previous index answers.
        """
        with self._write_lock:
            plan = plan_reload(
                self.settings.source_dirs,
                self.settings.exclude,
                self._manifest,
                {f.source for f in self._lexical.fields},
                self.data_dir,
            )
            return self._apply(plan)

    def add_faq(self, question: str, answer: str, category: str | None = None) -> str:
        """Adds one FAQ entry, searchable at once and kept across reloads.

        The entry is appended to ``kb_additions.jsonl`` in the data folder (an entry with the
        same question is replaced), then indexed.

        Returns:
            The new chunk's id.

        Raises:
            InputError: Empty question or answer.
            KnowledgeError: The entry was saved but could not be indexed; a reload retries.
        """
        question, answer = question.strip(), answer.strip()
        if not question or not answer:
            raise InputError("an FAQ entry needs a question and an answer")
        key = question_key(question)
        entry = {
            "id": "added-" + hashlib.sha1(key.encode()).hexdigest()[:10],
            "question": question,
            "answer": answer,
            "category": category,
            "language": detect_language(question),
        }
        path = self.data_dir / ADDITIONS_FILE
        with self._write_lock:
            lines = [line for line in self._addition_lines(path) if _line_key(line) != key]
            lines.append(json.dumps(entry, ensure_ascii=False))
            write_atomic(path, "\n".join(lines) + "\n")
            plan = ChangePlan(files={ADDITIONS_FILE: (path.resolve(), self.data_dir.resolve())})
            report = self._apply(plan)
        if ADDITIONS_FILE in report.failed:
            raise KnowledgeError(f"FAQ saved but not indexed: {report.failed[ADDITIONS_FILE]}")
        for chunk in self._chunker.chunks(self._load(path, ADDITIONS_FILE)):
            if chunk.question == question and chunk.answer == answer:
                return chunk.chunk_id
        raise KnowledgeError("FAQ saved but not found after indexing")

    def delete_source(self, source: str) -> int:
        """Removes every chunk of ``source``; returns how many.

        A file still in a source folder comes back on the next reload (delete the file to
        remove it for good); the FAQ additions file is moved aside to ``.deleted``.
        """
        with self._write_lock:
            ids = [
                chunk_id
                for chunk_id, fields in zip(self._lexical.ids, self._lexical.fields, strict=True)
                if fields.source == source
            ]
            self._store.delete(ids)
            self._refresh_lexical()
            if source == ADDITIONS_FILE:
                additions = self.data_dir / ADDITIONS_FILE
                if additions.exists():
                    additions.replace(additions.with_suffix(".jsonl.deleted"))
            if self._manifest.entries.pop(source, None) is not None:
                self._manifest.save()
        log.info("kb.source.deleted", source=source, chunks=len(ids))
        return len(ids)

    # -- internals -------------------------------------------------------------------------

    @staticmethod
    def _addition_lines(path: Path) -> list[str]:
        if not path.exists():
            return []
        return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def _load(self, path: Path, source: str) -> LoadedSource:
        return load_source(path, source, int(self.settings.max_file_mb * 1_048_576))

    def _apply(self, plan: ChangePlan) -> IngestReport:
        indexed: dict[str, set[str]] = {}
        for chunk_id, fields in zip(self._lexical.ids, self._lexical.fields, strict=True):
            indexed.setdefault(fields.source, set()).add(chunk_id)
        failed = dict(plan.failed)
        skipped: dict[str, tuple[str, ...]] = {}
        changed: dict[str, list[Chunk]] = {}
        entries: dict[str, SourceEntry] = {}
        unchanged = 0
        for source, (path, root) in sorted(plan.files.items()):
            try:
                digest = file_sha256(path)
            except OSError as error:
                failed[source] = f"cannot read file: {error.strerror or error}"
                continue
            entry = SourceEntry(path=str(path), root=str(root), sha256=digest)
            previous = self._manifest.get(source)
            if previous and previous.sha256 == digest and source in indexed:
                unchanged += 1
                entries[source] = entry
                continue
            try:
                loaded = self._load(path, source)
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
        embedded = self._write(changed, indexed, plan.removed)
        added = sum(1 for source in changed if source not in indexed)
        deleted = sum(
            1 for source in plan.removed if source in indexed or source in self._manifest.entries
        )
        for source, entry in entries.items():
            self._manifest.entries[source] = entry
        for source in plan.removed:
            self._manifest.entries.pop(source, None)
        self._manifest.save()
        report = IngestReport(
            added=added,
            updated=len(changed) - added,
            deleted=deleted,
            unchanged=unchanged,
            chunks=len(self._lexical),
            failed=failed,
            skipped=skipped,
            embedded=embedded,
        )
        log.info(
            "kb.ingest.finished",
            added=report.added,
            updated=report.updated,
            deleted=report.deleted,
            unchanged=report.unchanged,
            failed=len(failed),
            embedded=embedded,
            chunks=report.chunks,
        )
        return report

    def _write(
        self,
        changed: Mapping[str, list[Chunk]],
        indexed: Mapping[str, set[str]],
        removed: Iterable[str],
    ) -> int:
        new_chunks = [chunk for chunks in changed.values() for chunk in chunks]
        stored = self._store.existing([c.chunk_id for c in new_chunks])
        to_embed = [c for c in new_chunks if c.chunk_id not in stored]
        vectors = embed_or_raise(self.embedder.embed_passages, [c.search_text() for c in to_embed])
        self._store.upsert(to_embed, vectors)
        stale: list[str] = []
        for source, chunks in changed.items():
            keep = {c.chunk_id for c in chunks}
            stale.extend(i for i in indexed.get(source, ()) if i not in keep)
        for source in removed:
            stale.extend(indexed.get(source, ()))
        self._store.delete(stale)
        if new_chunks or stale:
            self._refresh_lexical()
        return len(to_embed)

    def _refresh_lexical(self) -> None:
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


def _line_key(line: str) -> str | None:
    try:
        item = json.loads(line)
    except json.JSONDecodeError:
        return None
    question = item.get("question") if isinstance(item, dict) else None
    return question_key(question) if isinstance(question, str) else None
