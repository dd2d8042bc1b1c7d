"""Fixtures of the dialogue tests: a cheap deterministic embedder, the demo catalogue."""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Sequence

import numpy as np
import pytest

from bot.demo.shop import DEMO_PRODUCTS_CSV
from bot.dialogue.entities import ProductCatalogue

DIM = 512
_WORD = re.compile(r"[a-z0-9]+|[\u4e00-\u9fff]")


class HashingEmbedder:
    """Character n-grams and words hashed into a fixed vector, L2-normalised.

    Stands in for the sentence embedder: deterministic, instant, and similar texts share
    features. ``calls`` counts embedded texts so tests can tell training from cache hits.
    """

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += len(texts)
        return np.stack([self._vector(text) for text in texts])

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(DIM, dtype=np.float32)
        lowered = f" {text.lower()} "
        features = _WORD.findall(lowered)
        features += [lowered[i : i + n] for n in (2, 3) for i in range(len(lowered) - n + 1)]
        for feature in features:
            digest = hashlib.blake2b(feature.encode(), digest_size=4).digest()
            vector[int.from_bytes(digest, "little") % DIM] += 1.0
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm else vector


@pytest.fixture
def embedder() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture(scope="session")
def catalogue() -> ProductCatalogue:
    with DEMO_PRODUCTS_CSV.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return ProductCatalogue.from_names((r["sku"], (r["name_en"], r["name_zh"])) for r in rows)
