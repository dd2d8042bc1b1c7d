"""Retrieval evaluation: hit@1, hit@5, MRR@10 and latency on a corpus with labelled queries.

Formats (``/work/shared/eval/README.md``): ``corpus.jsonl`` rows ``{"id", "text", "title"?}``
and ``queries.jsonl`` rows ``{"query", "relevant_ids": [...]}``. A query is found at k when one
of its first k retrieved ids is relevant. Chunks keep their record's id (``Passage.doc_id``),
and several chunks of one record count once, at the best rank.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import InputError
from core.settings import KnowledgeSettings
from knowledge.base import KnowledgeBase
from knowledge.embeddings import Embedder
from knowledge.retrieval import RetrievalMode
from knowledge.types import Passage

SearchFn = Callable[[str, int], Sequence[Passage]]

RETRIEVE_CHUNKS = 40
"""Chunks fetched per query so that ten distinct records remain after merging chunks."""


@dataclass(slots=True, frozen=True)
class LabelledQuery:
    query: str
    relevant_ids: frozenset[str]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Reads a JSON-lines file.

    Raises:
        InputError: A line is not a JSON object.
    """
    rows: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise InputError(f"{path.name} line {number}: {error.msg}") from error
            if not isinstance(row, dict):
                raise InputError(f"{path.name} line {number}: not an object")
            rows.append(row)
    return rows


def load_queries(path: Path) -> list[LabelledQuery]:
    """Reads ``queries.jsonl``; queries with no relevant ids (out of scope) are kept."""
    return [
        LabelledQuery(str(row["query"]), frozenset(str(i) for i in row.get("relevant_ids", [])))
        for row in read_jsonl(path)
    ]


def ranked_ids(passages: Sequence[Passage]) -> list[str]:
    """Record ids in ranking order, each once (``doc_id``, else the source)."""
    return list(dict.fromkeys(p.doc_id or p.source for p in passages))


def first_relevant_rank(ids: Sequence[str], relevant: frozenset[str]) -> int | None:
    """1-based rank of the first relevant id, or ``None``."""
    for rank, found in enumerate(ids, start=1):
        if found in relevant:
            return rank
    return None


def evaluate_retrieval(
    search: KnowledgeBase | SearchFn, queries: Sequence[LabelledQuery]
) -> dict[str, float | int]:
    """Scores a retriever on labelled queries (those with no relevant ids are skipped).

    Args:
        search: A knowledge base, or ``f(query, k) -> passages``.
        queries: Labelled queries.

    Returns:
        ``hit@1``, ``hit@5``, ``mrr@10``, ``n_queries`` and ``latency_ms_median`` (per search,
        query embedding included).
    """
    if isinstance(search, KnowledgeBase):
        kb = search

        def run(query: str, k: int) -> Sequence[Passage]:
            return kb.search(query, k)

        search = run
    in_scope = [q for q in queries if q.relevant_ids]
    hit1 = hit5 = 0
    reciprocal = 0.0
    latencies: list[float] = []
    for item in in_scope:
        started = time.perf_counter()
        passages = search(item.query, RETRIEVE_CHUNKS)
        latencies.append((time.perf_counter() - started) * 1000)
        rank = first_relevant_rank(ranked_ids(passages)[:10], item.relevant_ids)
        if rank is not None:
            hit1 += rank == 1
            hit5 += rank <= 5
            reciprocal += 1.0 / rank
    n = len(in_scope)
    return {
        "hit@1": round(hit1 / n, 4) if n else 0.0,
        "hit@5": round(hit5 / n, 4) if n else 0.0,
        "mrr@10": round(reciprocal / n, 4) if n else 0.0,
        "n_queries": n,
        "latency_ms_median": round(statistics.median(latencies), 2) if latencies else 0.0,
    }


def index_corpus(
    settings: KnowledgeSettings,
    corpus_path: Path,
    data_dir: Path,
    embedder: Embedder | None = None,
) -> KnowledgeBase:
    """Indexes a ``corpus.jsonl`` into the knowledge base in ``data_dir``.

    The configured pipeline is used (chunking, embedder, BM25), with no source folders. An
    index already in ``data_dir`` is reused: an unchanged corpus is not embedded again.
    """
    isolated = settings.model_copy(update={"source_dirs": [], "chroma_url": None})
    kb = KnowledgeBase.open(isolated, data_dir, embedder)
    report = kb.ingest([corpus_path])
    if report.failed:
        raise InputError(f"cannot index {corpus_path}: {dict(report.failed)}")
    return kb


def default_index_dir(data_dir: Path, corpus_path: Path) -> Path:
    """Where ``kefu eval retrieval`` keeps the index of one corpus between runs."""
    digest = hashlib.sha1(str(corpus_path.resolve()).encode()).hexdigest()[:12]
    return data_dir / "eval-index" / f"{corpus_path.stem}-{digest}"


def run_retrieval_eval(
    settings: KnowledgeSettings,
    corpus_path: Path,
    queries_path: Path,
    mode: RetrievalMode = "hybrid",
    embedder: Embedder | None = None,
    *,
    limit: int | None = None,
    index_dir: Path | None = None,
) -> dict[str, Any]:
    """Indexes ``corpus_path`` and scores ``queries_path`` on it.

    This is what ``kefu eval retrieval --corpus ... --queries ... --json`` runs.

    Args:
        limit: only the first ``limit`` queries.
        index_dir: keep the index here and reuse it next time (only changes are embedded);
            ``None``: a temporary folder, removed afterwards.

    Returns:
        The metrics of :func:`evaluate_retrieval` plus ``mode``, ``embedder``, ``chunks``,
        ``index_seconds`` and ``index_reused``.
    """
    queries = load_queries(queries_path)[:limit] if limit else load_queries(queries_path)
    with contextlib.ExitStack() as stack:
        if index_dir is None:
            index_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kefu-eval-")))
        index_dir.mkdir(parents=True, exist_ok=True)
        reused = any(index_dir.iterdir())
        started = time.perf_counter()
        kb = index_corpus(settings, corpus_path, index_dir, embedder)
        index_seconds = time.perf_counter() - started

        def run(query: str, k: int) -> Sequence[Passage]:
            return kb.search(query, k, mode=mode)

        metrics: dict[str, Any] = dict(evaluate_retrieval(run, queries))
        metrics.update(
            mode=mode,
            embedder=kb.embedder.name,
            chunks=kb.stats().chunks,
            index_seconds=round(index_seconds, 1),
            index_reused=reused,
        )
    return metrics
