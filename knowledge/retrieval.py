"""Hybrid retrieval: dense (Chroma) and BM25 rankings fused by reciprocal rank fusion.

Dense retrieval finds paraphrases ("东西坏了能退吗" -> the returns FAQ); BM25 finds exact words
dense models blur (order numbers, product names, "400-820-1234"). Each ranking contributes
``weight / (rrf_k + rank)`` per hit (Cormack et al., 2009), which needs no score normalisation.
One change to plain RRF: a BM25 hit's weight is scaled by its coverage (the idf-weighted share
of the question's words, or of its Chinese character pairs, that it contains) raised to
``bm25_coverage_exponent``, so a chunk that is
first in BM25 only because it shares one common word ("get") does not outvote the dense
ranking, while a chunk containing the question's rare words keeps its full say. Measured in
``benchmarks/results/retrieval_compare.md``.

In hybrid mode the dense side matches the question two ways: against each chunk as a
passage, and, for FAQ entries with alternative phrasings (相似问), against each alternative,
embedded as a query (question-to-question). An entry's dense similarity is the better of the
two, the question-to-question cosine lowered by ``phrasing_offset`` because two questions embed
closer than a question and its answer do; a customer wording that an alternative anticipated
then ranks and scores like a direct hit. The main question is not matched on its own: it is
part of the entry's passage, and matching it separately did not help on the public FAQ sets
(``benchmarks/results/retrieval_compare.md``).

An optional CrossEncoder re-orders the fused candidates. The order comes from fusion (or the
reranker); each passage's ``score`` is the calibrated relevance of :mod:`knowledge.calibration`,
so thresholds mean the same for every query.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import structlog

from core.errors import ConfigError, InputError
from knowledge.calibration import Calibration
from knowledge.chunking import Chunk
from knowledge.lexical import LexicalIndex, QueryTerms
from knowledge.query_cache import CachedQueryEmbedder
from knowledge.store import FILTER_FIELDS, ChunkStore

log = structlog.get_logger(__name__)

RetrievalMode = Literal["hybrid", "dense", "bm25"]


@dataclass(slots=True, frozen=True)
class FusionWeights:
    """How the two rankings are combined."""

    rrf_k: float = 20.0
    dense: float = 1.0
    bm25: float = 0.25
    bm25_coverage_exponent: float = 1.0
    """0 is plain RRF; 1 scales each BM25 hit's weight by its coverage of the question."""
    candidates: int = 50
    """Hits each ranking contributes."""
    phrasing_offset: float = 0.04
    """Subtracted from a question-to-question cosine before it is compared with passage
    cosines (see the module docstring)."""


@dataclass(slots=True, frozen=True)
class Rankings:
    """Candidate lists, best first: ``(chunk_id, cosine)`` and ``(chunk_id, bm25 score)``."""

    dense: list[tuple[str, float]]
    bm25: list[tuple[str, float]]
    coverage: dict[str, float]
    """Coverage of the question by each BM25 candidate."""
    phrasing: dict[str, float] = field(default_factory=dict)
    """Question-to-question similarity (offset applied) of the FAQ candidates."""
    phrasing_text: dict[str, str] = field(default_factory=dict)
    """The phrasing of each FAQ candidate closest to the question."""


@dataclass(slots=True, frozen=True)
class Hit:
    """A retrieved chunk with everything that went into its place and score."""

    chunk: Chunk
    score: float
    cosine: float
    coverage: float
    dense_rank: int | None
    bm25_rank: int | None
    fused: float


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[tuple[str, float]]], k: float
) -> list[tuple[str, float]]:
    """Fuses ranked lists: ``sum(weight / (k + rank))``, best first; ties keep first-seen order.

    Args:
        rankings: Per retriever, ``(id, weight)`` pairs best first.
        k: The RRF constant; larger flattens the advantage of the very top ranks.
    """
    fused: dict[str, float] = defaultdict(float)
    for ranking in rankings:
        for rank, (chunk_id, weight) in enumerate(ranking, start=1):
            fused[chunk_id] += weight / (k + rank)
    return sorted(fused.items(), key=lambda item: -item[1])


def best_of(
    passages: Sequence[tuple[str, float]], phrasing: Mapping[str, float]
) -> list[tuple[str, float]]:
    """One dense ranking from passage cosines and question-to-question cosines: each chunk with
    the better of its two, best first."""
    best = dict(passages)
    for chunk_id, cosine in phrasing.items():
        best[chunk_id] = max(best.get(chunk_id, cosine), cosine)
    return sorted(best.items(), key=lambda item: -item[1])


def with_phrasing(chunk: Chunk, phrasing: str | None) -> Chunk:
    """``chunk`` with the phrasing that matched the question among its alternatives (one
    learned after the entry was written is not in the chunk's own text), so the answer policy
    sees the way of asking that found it."""
    if not phrasing or phrasing in chunk.questions:
        return chunk
    alternatives = "\n".join((*chunk.phrasings, phrasing))
    return dataclasses.replace(chunk, alternatives=alternatives)


def check_filters(filters: Mapping[str, str] | None) -> None:
    """Raises :class:`InputError` for a filter on a field chunks do not have."""
    unknown = set(filters or {}) - FILTER_FIELDS
    if unknown:
        raise InputError(
            f"unknown filter {', '.join(sorted(unknown))}; use {', '.join(sorted(FILTER_FIELDS))}"
        )


class CrossEncoderReranker:
    """Re-orders candidates with a sentence-transformers CrossEncoder (torch loaded lazily)."""

    def __init__(self, model: str, allow_download: bool = False) -> None:
        self._model_name = model
        self._allow_download = allow_download
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._model is None:
            from sentence_transformers import CrossEncoder

            try:
                self._model = CrossEncoder(
                    self._model_name, device="cpu", local_files_only=not self._allow_download
                )
            except Exception as error:
                raise ConfigError(f"cannot load reranker {self._model_name!r}: {error}") from error
        return self._model

    def order(self, query: str, texts: Sequence[str]) -> list[int]:
        """Indexes of ``texts``, most relevant first."""
        if not texts:
            return []
        with self._lock:
            model = self._load()
            scores = model.predict(
                [(query, text) for text in texts], show_progress_bar=False, convert_to_numpy=True
            )
        return [int(i) for i in np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")]


class HybridRetriever:
    """Searches one store and its BM25 snapshot.

    Args:
        store: The vector store.
        lexical: Returns the current BM25 snapshot (it is swapped after each change).
        query_vectors: Embeds queries into the store's vector space, through the one query
            cache the intent classifier shares.
        calibration: Turns hit features into the calibrated score.
        weights: Fusion parameters.
        mode: Default ranking: hybrid, dense or bm25 alone.
        reranker: Optional CrossEncoder.
        rerank_candidates: How many fused hits the reranker sees.
    """

    def __init__(
        self,
        store: ChunkStore,
        lexical: Callable[[], LexicalIndex],
        query_vectors: CachedQueryEmbedder,
        calibration: Calibration,
        weights: FusionWeights,
        mode: RetrievalMode = "hybrid",
        reranker: CrossEncoderReranker | None = None,
        rerank_candidates: int = 20,
    ) -> None:
        self._store = store
        self._lexical = lexical
        self.query_vectors = query_vectors
        self._calibration = calibration
        self.weights = weights
        self.mode: RetrievalMode = mode
        self._reranker = reranker
        self._rerank_candidates = rerank_candidates

    def rankings(
        self,
        query: str,
        n: int,
        filters: Mapping[str, str] | None = None,
        mode: RetrievalMode | None = None,
        lexical: LexicalIndex | None = None,
    ) -> Rankings:
        """The dense and BM25 candidate lists for ``query`` (one is empty in a single mode)."""
        mode = mode or self.mode
        lexical = lexical or self._lexical()
        dense: list[tuple[str, float]] = []
        phrasing: dict[str, float] = {}
        phrasing_text: dict[str, str] = {}
        if mode != "bm25":
            vector = self.query_vectors.vector(query)
            dense = self._store.query(vector, n, filters)
            if mode == "hybrid":  # "dense" stays plain dense search, the baseline we measure
                offset = self.weights.phrasing_offset
                # the n closest phrasings: entries asked that way rank among the n best
                found = self._store.query_phrasings(vector, n, filters)
                phrasing = {chunk_id: cosine - offset for chunk_id, (cosine, _) in found.items()}
                phrasing_text = {chunk_id: text for chunk_id, (_, text) in found.items()}
                dense = best_of(dense, phrasing)[:n]
        bm25: list[tuple[str, float]] = []
        coverage: dict[str, float] = {}
        if mode != "dense":
            terms = QueryTerms.of(query)
            bm25 = lexical.search(terms.terms, n, filters)
            coverage = {chunk_id: lexical.query_coverage(terms, chunk_id) for chunk_id, _ in bm25}
        return Rankings(dense, bm25, coverage, phrasing, phrasing_text)

    def fuse(self, rankings: Rankings) -> list[tuple[str, float]]:
        """Reciprocal rank fusion of the two candidate lists (see the module docstring)."""
        if not rankings.dense or not rankings.bm25:  # one ranking alone keeps its own order
            return [
                (chunk_id, 1.0 / rank)
                for rank, (chunk_id, _) in enumerate(rankings.dense or rankings.bm25, start=1)
            ]
        weights = self.weights
        dense = [(chunk_id, weights.dense) for chunk_id, _ in rankings.dense]
        bm25 = [
            (chunk_id, weights.bm25 * rankings.coverage[chunk_id] ** weights.bm25_coverage_exponent)
            for chunk_id, _ in rankings.bm25
        ]
        return reciprocal_rank_fusion([dense, bm25], weights.rrf_k)

    def hits(
        self,
        query: str,
        k: int = 5,
        filters: Mapping[str, str] | None = None,
        mode: RetrievalMode | None = None,
    ) -> list[Hit]:
        """The ``k`` best chunks for ``query``, in ranking order, with their features.

        Raises:
            InputError: An unknown filter field.
            KnowledgeError: The embedder or the vector store failed.
        """
        check_filters(filters)
        query = query.strip()
        if not query or k <= 0:
            return []
        lexical = self._lexical()
        terms = QueryTerms.of(query)
        vector = self.query_vectors.vector(query)
        rankings = self.rankings(query, max(self.weights.candidates, k), filters, mode, lexical)
        fused = self.fuse(rankings)
        pool_size = max(k, self._rerank_candidates) if self._reranker else k
        pool = fused[:pool_size]
        stored = self._store.get([chunk_id for chunk_id, _ in pool])
        pool = [(chunk_id, value) for chunk_id, value in pool if chunk_id in stored]
        if self._reranker is not None and pool:
            texts = [stored[chunk_id].chunk.search_text() for chunk_id, _ in pool]
            pool = [pool[i] for i in self._reranker.order(query, texts)]
        dense_rank = {chunk_id: rank for rank, (chunk_id, _) in enumerate(rankings.dense, 1)}
        sparse_rank = {chunk_id: rank for rank, (chunk_id, _) in enumerate(rankings.bm25, 1)}
        hits = []
        for chunk_id, value in pool[:k]:
            item = stored[chunk_id]
            chunk = with_phrasing(item.chunk, rankings.phrasing_text.get(chunk_id))
            cosine = max(
                float(np.dot(item.embedding, vector)), rankings.phrasing.get(chunk_id, -1.0)
            )
            coverage = rankings.coverage.get(chunk_id)
            if coverage is None:
                coverage = lexical.query_coverage(terms, chunk_id)
            hits.append(
                Hit(
                    chunk=chunk,
                    score=self._calibration.score(cosine, coverage),
                    cosine=cosine,
                    coverage=coverage,
                    dense_rank=dense_rank.get(chunk_id),
                    bm25_rank=sparse_rank.get(chunk_id),
                    fused=value,
                )
            )
        return hits
