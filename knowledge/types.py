"""What the knowledge base hands to the rest of the bot."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

ChunkKind = Literal["faq", "doc"]


@dataclass(slots=True, frozen=True)
class Passage:
    """One retrieved chunk with its provenance and a calibrated relevance score.

    ``score`` is comparable across queries (it is what the answer policy's thresholds are
    applied to); ``rank`` is its position in the fused ranking, starting at 1.
    """

    chunk_id: str
    text: str
    source: str
    title: str
    section: str | None
    kind: ChunkKind
    score: float
    rank: int = 1
    question: str | None = None
    answer: str | None = None
    category: str | None = None
    language: str | None = None
    doc_id: str | None = None
    """Id the source gave this entry (an FAQ row's ``id``, a corpus record's ``id``), if any."""
    alternatives: tuple[str, ...] = ()
    """An FAQ's alternative phrasings of ``question``."""

    @property
    def questions(self) -> tuple[str, ...]:
        """The FAQ question and its alternatives (empty for a document passage)."""
        return (self.question, *self.alternatives) if self.question else ()


@dataclass(slots=True, frozen=True)
class IngestReport:
    """Outcome of an ingest or reload.

    ``added``/``updated``/``deleted``/``unchanged`` count source files; ``chunks`` is the number
    of chunks in the index afterwards.
    """

    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    chunks: int = 0
    failed: Mapping[str, str] = field(default_factory=dict)
    """Source path -> reason it could not be parsed."""
    skipped: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Source path -> entries left out of a loaded file (duplicated FAQ questions, empty rows)."""
    embedded: int = 0
    """Chunks embedded and written by this run (0 when nothing changed)."""


@dataclass(slots=True, frozen=True)
class KBStats:
    sources: int
    chunks: int
    faq_entries: int
    embedder: str
    collection: str
    generation: int = -1
    """The knowledge generation this process's search index was built at."""


@dataclass(slots=True, frozen=True)
class SourceDetails:
    """One indexed source, for ``kefu kb stats``."""

    source: str
    chunks: int
    kind: str
    """faq, doc, or doc+faq."""
    path: str
    modified: float | None
    """The file's modification time (epoch seconds), None when it is gone."""


class Retriever(Protocol):
    """The part of the knowledge base the answer policy needs."""

    def search(
        self, query: str, k: int = 5, filters: Mapping[str, str] | None = None
    ) -> Sequence[Passage]: ...

    def corrected(self, question: str) -> str:
        """``question`` with misspellings corrected to the knowledge base's words."""
        ...
