"""Embeddings of a fixed set of texts, computed once and kept on disk.

Evaluations and benchmarks embed the same thousands of texts on every run; on two cores that
is most of their time (multilingual-e5-small: ~20 ms per text). The cache file is named by a
hash of the embedder's name and the texts, so a different embedder or data set never reads
another's vectors.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bot.dialogue.intent_model import Embedder, embed_texts


class PreloadedEmbedder:
    """An :data:`Embedder` that serves preloaded vectors and embeds only what is new.

    Args:
        embed: the real embedder.
        embedder_name: identifies it in the cache key.
        cache_dir: where ``.npy`` files are kept; None keeps vectors in memory only.
    """

    def __init__(self, embed: Embedder, embedder_name: str, cache_dir: Path | None) -> None:
        self._embed = embed
        self._name = embedder_name
        self._cache_dir = cache_dir
        self._vectors: dict[str, np.ndarray] = {}
        self.embed_seconds = 0.0
        """Time spent embedding (not reading the cache) so far."""
        self.computed = 0
        """Texts embedded (not read from the cache) so far."""

    def preload(self, texts: Sequence[str]) -> None:
        """Embeds every distinct text once, or reads them all from the cache file."""
        distinct = sorted(set(texts) - self._vectors.keys())
        if not distinct:
            return
        path = self._path(distinct)
        if path is not None and path.is_file():
            matrix = np.load(path)
        else:
            matrix = self._compute(distinct)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                np.save(path, matrix)
        self._vectors.update(zip(distinct, matrix, strict=True))

    def _compute(self, texts: Sequence[str]) -> np.ndarray:
        started = time.perf_counter()
        matrix = embed_texts(self._embed, texts)
        self.embed_seconds += time.perf_counter() - started
        self.computed += len(texts)
        return matrix

    def _path(self, texts: Sequence[str]) -> Path | None:
        if self._cache_dir is None:
            return None
        digest = hashlib.sha256("\n".join([self._name, *texts]).encode()).hexdigest()
        return self._cache_dir / f"{digest[:24]}.npy"

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        missing = [text for text in dict.fromkeys(texts) if text not in self._vectors]
        if missing:
            self._vectors.update(zip(missing, self._compute(missing), strict=True))
        return np.stack([self._vectors[text] for text in texts])
