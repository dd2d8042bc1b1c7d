"""The one query-embedding cache: a message is embedded once for intent and search."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from core.errors import KnowledgeError
from knowledge.base import KnowledgeBase
from knowledge.embeddings import HashingEmbedder, Vectors
from knowledge.query_cache import CachedQueryEmbedder


class CountingEmbedder(HashingEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[list[str]] = []

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        self.calls.append(list(texts))
        return super().embed_queries(texts)


class BrokenEmbedder(HashingEmbedder):
    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        raise RuntimeError("model crashed")


def test_a_message_is_embedded_once_for_intent_and_search() -> None:
    inner = CountingEmbedder()
    cached = CachedQueryEmbedder(inner, size=2)
    first = cached.embed_queries(["退货要多久"])
    second = cached.embed_queries(["退货要多久"])
    assert np.array_equal(first, second)
    assert np.array_equal(cached.vector("退货要多久"), first[0])
    assert inner.calls == [["退货要多久"]]
    assert cached.name == inner.name


def test_a_caller_changing_its_rows_does_not_change_the_cache() -> None:
    cached = CachedQueryEmbedder(CountingEmbedder())
    rows = cached.embed_queries(["hi"])
    expected = rows.copy()
    rows[:] = 0.0
    assert np.array_equal(cached.embed_queries(["hi"]), expected)


def test_cache_keeps_the_recently_used_queries_and_batches_pass_through() -> None:
    inner = CountingEmbedder()
    cached = CachedQueryEmbedder(inner, size=2)
    cached.embed_queries(["a"])
    cached.embed_queries(["b"])
    cached.vector("a")  # used again: "b" is now the least recent
    cached.embed_queries(["c"])  # evicts "b"
    cached.embed_queries(["a"])
    cached.embed_queries(["b"])
    cached.embed_queries(["x", "y"])
    cached.embed_queries(["x", "y"])
    assert inner.calls == [["a"], ["b"], ["c"], ["b"], ["x", "y"], ["x", "y"]]


def test_clear_forgets_and_preload_keeps_every_given_vector() -> None:
    inner = CountingEmbedder()
    cached = CachedQueryEmbedder(inner, size=1)
    cached.vector("a")
    cached.clear()
    cached.vector("a")
    assert inner.calls == [["a"], ["a"]]
    batch = inner.embed_queries(["p", "q", "r"])
    cached.preload(dict(zip(["p", "q", "r"], batch, strict=True)))
    for text, row in zip(["p", "q", "r", "a"], [*batch, cached.vector("a")], strict=True):
        assert np.array_equal(cached.vector(text), row)
    assert inner.calls == [["a"], ["a"], ["p", "q", "r"]]


def test_an_embedder_failure_is_a_knowledge_error_and_is_not_cached() -> None:
    cached = CachedQueryEmbedder(BrokenEmbedder())
    for _ in range(2):
        with pytest.raises(KnowledgeError):
            cached.vector("hi")


def test_the_knowledge_base_shares_one_cache_between_intent_and_search(
    make_kb: Callable[..., KnowledgeBase], shop_dir: Path
) -> None:
    inner = CountingEmbedder()
    kb = make_kb([shop_dir], embedder=inner)
    kb.reload()
    inner.calls.clear()
    kb.embedder.embed_queries(["退货要多久"])  # the intent classifier's call
    kb.search("退货要多久", 3)
    kb.search("退货要多久", 3, mode="dense")
    assert inner.calls == [["退货要多久"]]
    assert kb.retriever.query_vectors is kb.embedder
