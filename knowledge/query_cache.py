"""A small cache of query embeddings, so one customer message is embedded once.

The pipeline embeds each message twice otherwise: once to classify its intent and once to
search the knowledge base, and on two CPU cores that second embedding is a third of a reply's
time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from knowledge.embeddings import Embedder, Vectors

CACHED_QUERIES = 256


class CachedQueryEmbedder:
    """Wraps an :class:`Embedder`; repeated single queries reuse their vector."""

    def __init__(self, inner: Embedder, size: int = CACHED_QUERIES) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self._size = size
        self._vectors: OrderedDict[str, Vectors] = OrderedDict()
        self._lock = threading.Lock()

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        if len(texts) != 1:  # batches (evaluation, training) are not worth caching
            return self.inner.embed_queries(texts)
        text = texts[0]
        with self._lock:
            cached = self._vectors.get(text)
            if cached is not None:
                self._vectors.move_to_end(text)
                return cached.copy()
        vectors = self.inner.embed_queries(texts)
        with self._lock:
            self._vectors[text] = np.array(vectors, copy=True)
            if len(self._vectors) > self._size:
                self._vectors.popitem(last=False)
        return vectors

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self.inner.embed_passages(texts)
