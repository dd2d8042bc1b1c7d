"""The ChromaDB side of the knowledge base: vectors, texts and metadata of every chunk.

Beside the chunks, a companion collection (``<name>-questions``) holds one vector per
alternative phrasing of an FAQ (相似问) embedded as a *query*: customers' questions are matched
against the other ways the FAQ is asked, question to question, as well as against the whole
entry (see :mod:`knowledge.retrieval`).

Embedded ``PersistentClient`` under the data folder by default, ``HttpClient`` when
``chroma_url`` is set. We always pass our own embeddings (Chroma's default embedder downloads a
model) and use cosine space. Every Chroma failure surfaces as :class:`VectorStoreError`.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import structlog
from numpy.typing import NDArray

from core.errors import VectorStoreError
from knowledge.chunking import Chunk, MetadataValue

log = structlog.get_logger(__name__)

FILTER_FIELDS = frozenset({"source", "category", "kind", "language", "doc_id"})
PAGE_SIZE = 5000


@contextlib.contextmanager
def chroma_errors(action: str) -> Iterator[None]:
    """Turns any Chroma (or transport) failure into a :class:`VectorStoreError`."""
    try:
        yield
    except VectorStoreError:
        raise
    except Exception as error:
        raise VectorStoreError(f"vector store failed to {action}: {error}") from error


def where_clause(filters: Mapping[str, str] | None) -> dict[str, Any] | None:
    """Chroma ``where`` for exact-match filters on our metadata fields."""
    if not filters:
        return None
    clauses: list[dict[str, Any]] = [{key: {"$eq": value}} for key, value in filters.items()]
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


@dataclass(slots=True, frozen=True)
class StoredChunk:
    """A chunk as read back from the store, with its vector."""

    chunk: Chunk
    embedding: NDArray[np.float32]


def make_client(chroma_url: str | None, data_dir: Path) -> Any:
    """A Chroma client: HTTP when ``chroma_url`` is set, else embedded under ``data_dir``.

    Raises:
        VectorStoreError: The server cannot be reached or the folder cannot be opened.
    """
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if chroma_url:
        url = urlparse(chroma_url)
        if not url.hostname:
            raise VectorStoreError(f"invalid chroma_url {chroma_url!r}")
        ssl = url.scheme == "https"
        port = url.port or (443 if ssl else 8000)
        with chroma_errors(f"connect to {url.hostname}:{port}"):
            return chromadb.HttpClient(host=url.hostname, port=port, ssl=ssl, settings=settings)
    with chroma_errors(f"open {data_dir / 'chroma'}"):
        return chromadb.PersistentClient(path=str(data_dir / "chroma"), settings=settings)


def open_collection(client: Any, name: str) -> Any:
    """A cosine-space collection that takes our own embeddings."""
    with chroma_errors(f"open collection {name}"):
        return client.get_or_create_collection(
            name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
        )


def phrasing_id(chunk_id: str, phrasing: str) -> str:
    """The question-collection id of one phrasing of an FAQ chunk (stable for the wording)."""
    return f"{chunk_id}#{hashlib.sha1(phrasing.encode('utf-8')).hexdigest()[:16]}"


Phrasings = Sequence[tuple[Chunk, Sequence[str]]]
"""FAQ chunks, each with the phrasings to match it by."""


class ChunkStore:
    """One Chroma collection of chunks, and its companion collection of FAQ phrasings.

    Args:
        client: A Chroma client (see :func:`make_client`).
        name: Collection name.
    """

    def __init__(self, client: Any, name: str) -> None:
        self.name = name
        self._client = client
        self._collection = open_collection(client, name)
        self._questions = open_collection(client, f"{name}-questions")
        with chroma_errors("read the batch size"):
            self._batch = int(client.get_max_batch_size())

    def close(self) -> None:
        """Releases the client (its HTTP connections, or its share of the embedded store)."""
        with contextlib.suppress(Exception):
            self._client.close()
        # chromadb 1.x stops the HTTP components (the client's and its admin client's) of the
        # last client of a server but leaves their httpx sessions, and sockets, open.
        for client in (self._client, getattr(self._client, "_admin_client", None)):
            server = getattr(client, "_server", None)
            session = getattr(server, "_session", None)
            if session is not None and not getattr(server, "_running", True):
                with contextlib.suppress(Exception):
                    session.close()

    def count(self) -> int:
        with chroma_errors("count chunks"):
            return int(self._collection.count())

    def upsert(self, chunks: Sequence[Chunk], embeddings: NDArray[np.float32]) -> None:
        """Writes chunks with their vectors (same id: replaced)."""
        rows = [(c.chunk_id, c.text, c.metadata()) for c in chunks]
        self._upsert(self._collection, rows, embeddings, "write chunks")

    def delete(self, ids: Sequence[str]) -> None:
        """Deletes chunks and their phrasings."""
        for start in range(0, len(ids), self._batch):
            part = list(ids[start : start + self._batch])
            with chroma_errors("delete chunks"):
                self._collection.delete(ids=part)
                self._questions.delete(where={"chunk_id": {"$in": part}})

    def upsert_phrasings(self, phrasings: Phrasings, embeddings: NDArray[np.float32]) -> None:
        """Writes phrasing vectors: ``embeddings`` has one row per phrasing, in order."""
        rows: list[tuple[str, str, dict[str, MetadataValue]]] = []
        for chunk, texts in phrasings:
            meta = {key: value for key, value in chunk.metadata().items() if key in FILTER_FIELDS}
            meta["chunk_id"] = chunk.chunk_id
            rows.extend((phrasing_id(chunk.chunk_id, text), text, meta) for text in texts)
        if len(rows) != len(embeddings):
            raise ValueError(f"{len(rows)} phrasings but {len(embeddings)} vectors")
        self._upsert(self._questions, rows, embeddings, "write FAQ phrasings")

    def missing_phrasings(self, phrasings: Phrasings) -> list[tuple[Chunk, list[str]]]:
        """Of ``phrasings``, those not stored yet (an index written before phrasings were, a
        phrasing learned since, or a write that stopped half way)."""
        wanted = [(chunk, text) for chunk, texts in phrasings for text in texts]
        ids = [phrasing_id(chunk.chunk_id, text) for chunk, text in wanted]
        found = self._existing(self._questions, ids, "look up FAQ phrasings")
        missing: dict[str, tuple[Chunk, list[str]]] = {}
        for chunk, text in wanted:
            if phrasing_id(chunk.chunk_id, text) not in found:
                missing.setdefault(chunk.chunk_id, (chunk, []))[1].append(text)
        return list(missing.values())

    def existing(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` are stored."""
        return self._existing(self._collection, ids, "look up chunks")

    def _existing(self, collection: Any, ids: Sequence[str], action: str) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(ids), self._batch):
            with chroma_errors(action):
                part = list(ids[start : start + self._batch])
                result = collection.get(ids=part, include=[])
            found.update(result["ids"])
        return found

    def _upsert(
        self,
        collection: Any,
        rows: Sequence[tuple[str, str, Mapping[str, MetadataValue]]],
        embeddings: NDArray[np.float32],
        action: str,
    ) -> None:
        """Writes ``(id, document, metadata)`` rows with their vectors, batch by batch."""
        for start in range(0, len(rows), self._batch):
            part = rows[start : start + self._batch]
            with chroma_errors(action):
                collection.upsert(
                    ids=[row[0] for row in part],
                    embeddings=embeddings[start : start + len(part)],
                    documents=[row[1] for row in part],
                    metadatas=[dict(row[2]) for row in part],  # type: ignore[misc]
                )

    def scan(self) -> Iterator[Chunk]:
        """Every stored chunk (text and metadata, no vectors), page by page."""
        offset = 0
        while True:
            with chroma_errors("read chunks"):
                page = self._collection.get(
                    limit=PAGE_SIZE, offset=offset, include=["documents", "metadatas"]
                )
            ids = page["ids"]
            documents = page["documents"] or [""] * len(ids)
            metadatas = page["metadatas"] or [None] * len(ids)
            for chunk_id, text, meta in zip(ids, documents, metadatas, strict=True):
                yield Chunk.from_record(chunk_id, text or "", meta)
            if len(ids) < PAGE_SIZE:
                return
            offset += PAGE_SIZE

    def get(self, ids: Sequence[str]) -> dict[str, StoredChunk]:
        """Chunks and vectors by id; ids no longer stored are missing from the result."""
        if not ids:
            return {}
        with chroma_errors("read chunks"):
            result = self._collection.get(
                ids=list(ids), include=["documents", "metadatas", "embeddings"]
            )
        found: dict[str, StoredChunk] = {}
        embeddings = result["embeddings"]
        documents = result["documents"] or []
        metadatas = result["metadatas"] or []
        for i, chunk_id in enumerate(result["ids"]):
            chunk = Chunk.from_record(chunk_id, documents[i] or "", metadatas[i])
            vector = np.asarray(embeddings[i], dtype=np.float32)  # type: ignore[index]
            found[chunk_id] = StoredChunk(chunk, vector)
        return found

    def query(
        self, vector: NDArray[np.float32], n: int, filters: Mapping[str, str] | None = None
    ) -> list[tuple[str, float]]:
        """Nearest chunks to ``vector`` as ``(chunk_id, cosine)``, best first."""
        with chroma_errors("search"):
            total = self._collection.count()
            if total == 0:
                return []
            result = self._collection.query(
                query_embeddings=[vector],
                n_results=min(n, total),
                where=where_clause(filters),
                include=["distances"],
            )
        ids = result["ids"][0]
        distances = (result["distances"] or [[]])[0]
        return [(chunk_id, 1.0 - float(d)) for chunk_id, d in zip(ids, distances, strict=True)]

    def query_phrasings(
        self, vector: NDArray[np.float32], n: int, filters: Mapping[str, str] | None = None
    ) -> dict[str, tuple[float, str]]:
        """FAQ chunks whose phrasings are nearest to ``vector`` (a query vector):
        ``chunk_id -> (cosine, text)`` of the closest phrasing."""
        with chroma_errors("search FAQ phrasings"):
            total = self._questions.count()
            if total == 0:
                return {}
            result = self._questions.query(
                query_embeddings=[vector],
                n_results=min(n, total),
                where=where_clause(filters),
                include=["distances", "metadatas", "documents"],
            )
        best: dict[str, tuple[float, str]] = {}
        metadatas = (result["metadatas"] or [[]])[0]
        distances = (result["distances"] or [[]])[0]
        documents = (result["documents"] or [[]])[0]
        for meta, distance, text in zip(metadatas, distances, documents, strict=True):
            chunk_id = str((meta or {}).get("chunk_id", ""))
            if chunk_id and chunk_id not in best:  # best first: the first is the closest
                best[chunk_id] = (1.0 - float(distance), text or "")
        return best
