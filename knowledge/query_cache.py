"""The one cache of query embeddings, so one customer message is embedded once.

The pipeline embeds each message twice otherwise: once to classify its intent and once to
search the knowledge base, and on two CPU cores that second embedding is a third of a reply's
time. Customers also repeat themselves ("转人工", "hi"), and comparing ranking modes on one
query should embed it once. The knowledge base wraps its embedder in this cache and hands the
same object to the retriever and, through ``KnowledgeBase.embedder``, to the intent classifier.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

from cachetools import LRUCache

from knowledge.embeddings import Embedder, Vectors, embed_or_raise

CACHED_QUERIES = 512


class CachedQueryEmbedder:
    """Wraps an :class:`Embedder`; a repeated single query reuses its vector.

    Args:
        inner: The real embedder.
        size: How many recent queries are kept (least recently used go first).
    """

    def __init__(self, inner: Embedder, size: int = CACHED_QUERIES) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self._vectors: LRUCache[str, Vectors] = LRUCache(size)
        # LRUCache is not thread-safe and queries arrive from several worker threads.
        self._lock = threading.Lock()

    def vector(self, query: str) -> Vectors:
        """The embedding of ``query``, one row; shared with the cache, so read it only.

        Raises:
            KnowledgeError: The embedder failed.
        """
        with self._lock:
            found = self._vectors.get(query)
        if found is not None:
            return found
        # Embedded outside the lock: a slow model must not hold up cached queries.
        vector: Vectors = embed_or_raise(self.inner.embed_queries, [query])[0]
        with self._lock:
            self._vectors[query] = vector
        return vector

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Embeds ``texts``; a single query goes through the cache.

        Raises:
            KnowledgeError: The embedder failed.
        """
        if len(texts) != 1:  # batches (evaluation, training) are not worth caching
            return self.inner.embed_queries(texts)
        return self.vector(texts[0]).reshape(1, -1).copy()

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self.inner.embed_passages(texts)

    def clear(self) -> None:
        """Forgets every vector (benchmarks measure the uncached cost this way)."""
        with self._lock:
            self._vectors.clear()

    def preload(self, vectors: Mapping[str, Vectors]) -> None:
        """Keeps ``vectors`` (text -> embedding computed elsewhere, e.g. in one batch), growing
        the cache to hold them all."""
        with self._lock:
            grown: LRUCache[str, Vectors] = LRUCache(
                max(self._vectors.maxsize, self._vectors.currsize + len(vectors))
            )
            grown.update(self._vectors)
            grown.update(vectors)
            self._vectors = grown
