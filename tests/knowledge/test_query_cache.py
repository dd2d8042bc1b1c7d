from collections.abc import Sequence

import numpy as np

from knowledge.embeddings import HashingEmbedder, Vectors
from knowledge.query_cache import CachedQueryEmbedder


class CountingEmbedder(HashingEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[list[str]] = []

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        self.calls.append(list(texts))
        return super().embed_queries(texts)


def test_a_message_is_embedded_once_for_intent_and_search() -> None:
    inner = CountingEmbedder()
    cached = CachedQueryEmbedder(inner, size=2)
    first = cached.embed_queries(["退货要多久"])
    second = cached.embed_queries(["退货要多久"])
    assert np.array_equal(first, second)
    assert inner.calls == [["退货要多久"]]
    assert cached.name == inner.name


def test_cache_is_bounded_and_batches_pass_through() -> None:
    inner = CountingEmbedder()
    cached = CachedQueryEmbedder(inner, size=1)
    cached.embed_queries(["a"])
    cached.embed_queries(["b"])
    cached.embed_queries(["a"])  # evicted by "b": embedded again
    cached.embed_queries(["x", "y"])
    cached.embed_queries(["x", "y"])
    assert inner.calls == [["a"], ["b"], ["a"], ["x", "y"], ["x", "y"]]
