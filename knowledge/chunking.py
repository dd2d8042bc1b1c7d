"""Chunks: the unit that is embedded, indexed and cited.

Documents are split section by section with LangChain's ``RecursiveCharacterTextSplitter``,
trying paragraph breaks, then line breaks, then Chinese and English sentence ends, then clause
marks, so a chunk ends at the end of a sentence whenever one sentence fits. Each FAQ entry is
exactly one chunk. Chunk ids hash everything stored with the chunk, so re-ingesting an
unchanged file yields the same ids and touches nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from core.text import detect_language
from knowledge.loaders import FaqEntry, LoadedSource, Section
from knowledge.types import ChunkKind, Passage

SEPARATORS = [
    r"\n{2,}",
    r"\n",
    # sentence ends: Chinese marks need no space; . ? ! must be followed by whitespace so
    # "3.5" and URLs stay whole; closing quotes stay with their sentence
    r"[。！？…]+[”’」』）)\"']*\s*|[.?!]+[\"')\]]*\s+",
    r"[；;]\s*",
    r"[，,、：:]\s*",
    r"\s+",
    "",
]

MetadataValue = str | int | float | bool


@dataclass(slots=True, frozen=True)
class Chunk:
    """One indexed piece of knowledge."""

    chunk_id: str
    text: str
    source: str
    title: str
    kind: ChunkKind
    section: str | None = None
    question: str | None = None
    answer: str | None = None
    category: str | None = None
    language: str | None = None
    doc_id: str | None = None
    """FAQ id or corpus record id, when the source gives one."""
    alternatives: str | None = None
    """An FAQ's alternative phrasings, one per line (vector-store metadata holds strings)."""

    @property
    def questions(self) -> tuple[str, ...]:
        """The FAQ question and its alternatives (empty for a document chunk)."""
        if not self.question:
            return ()
        return (self.question, *(self.alternatives or "").splitlines())

    @property
    def phrasings(self) -> tuple[str, ...]:
        """The FAQ's alternative phrasings (相似问), matched question to question."""
        return tuple(line for line in (self.alternatives or "").splitlines() if line.strip())

    def search_text(self) -> str:
        """What is embedded and BM25-indexed: a document chunk with its title and section as
        context; an FAQ entry as question and answer (its category only added noise)."""
        if self.kind == "faq":
            return self.text
        return search_text(self.text, self.title, self.section)

    def metadata(self) -> dict[str, MetadataValue]:
        """Vector-store metadata (``None`` fields are left out)."""
        data = asdict(self)
        del data["chunk_id"], data["text"]
        return {key: value for key, value in data.items() if value is not None}

    @classmethod
    def from_record(cls, chunk_id: str, text: str, metadata: Mapping[str, object] | None) -> Chunk:
        """Rebuilds a chunk from what the vector store returns."""
        meta = dict(metadata or {})

        def text_field(key: str) -> str | None:
            value = meta.get(key)
            return None if value is None else str(value)

        kind: ChunkKind = "faq" if meta.get("kind") == "faq" else "doc"
        return cls(
            chunk_id=chunk_id,
            text=text,
            source=str(meta.get("source", "")),
            title=str(meta.get("title", "")),
            kind=kind,
            section=text_field("section"),
            question=text_field("question"),
            answer=text_field("answer"),
            category=text_field("category"),
            language=text_field("language"),
            doc_id=text_field("doc_id"),
            alternatives=text_field("alternatives"),
        )

    def to_passage(self, score: float, rank: int) -> Passage:
        return Passage(
            chunk_id=self.chunk_id,
            text=self.text,
            source=self.source,
            title=self.title,
            section=self.section,
            kind=self.kind,
            score=score,
            rank=rank,
            question=self.question,
            answer=self.answer,
            category=self.category,
            language=self.language,
            doc_id=self.doc_id,
            alternatives=tuple((self.alternatives or "").splitlines()),
        )


def search_text(text: str, title: str, section: str | None) -> str:
    """Joins title, section and text, leaving out a title the text already starts with."""
    parts = [] if not title or text.startswith(title) else [title]
    if section and section != title:
        parts.append(section)
    parts.append(text)
    return "\n".join(parts)


def chunk_id_for(fields: Mapping[str, object]) -> str:
    """A stable id: SHA-256 of the source and every stored field, 32 hex characters."""
    payload = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def _make_chunk(**fields: str | None) -> Chunk:
    kind = fields.pop("kind")
    text = fields.pop("text") or ""
    fields["language"] = fields.get("language") or detect_language(text)
    # Fields left empty stay out of the id, so adding a field keeps existing chunks' ids.
    stored = {
        key: value for key, value in fields.items() if value is not None or key != "alternatives"
    }
    chunk_id = chunk_id_for({"kind": kind, "text": text, **stored})
    return Chunk(chunk_id=chunk_id, text=text, kind="faq" if kind == "faq" else "doc", **fields)  # type: ignore[arg-type]


class Chunker:
    """Splits loaded sources into chunks.

    Args:
        chunk_size: Most characters per document chunk (a single longer sentence is split at
            clause marks, then spaces).
        chunk_overlap: Characters repeated from the end of one chunk at the start of the next,
            in whole sentences.
    """

    def __init__(self, chunk_size: int = 400, chunk_overlap: int = 60) -> None:
        self._splitter = RecursiveCharacterTextSplitter(
            separators=SEPARATORS,
            is_separator_regex=True,
            keep_separator="end",
            chunk_size=chunk_size,
            chunk_overlap=min(chunk_overlap, chunk_size // 2),
            strip_whitespace=True,
        )

    def split(self, text: str) -> list[str]:
        """Splits one section's text."""
        return [piece for piece in self._splitter.split_text(text) if piece.strip()]

    def chunks(self, loaded: LoadedSource) -> list[Chunk]:
        """All chunks of one source, FAQ entries first, duplicates (same id) dropped."""
        found: dict[str, Chunk] = {}
        for entry in loaded.faqs:
            chunk = self._faq_chunk(loaded.source, loaded.title, entry)
            found.setdefault(chunk.chunk_id, chunk)
        for section in loaded.sections:
            for chunk in self._section_chunks(loaded.source, loaded.title, section):
                found.setdefault(chunk.chunk_id, chunk)
        return list(found.values())

    def _faq_chunk(self, source: str, title: str, entry: FaqEntry) -> Chunk:
        # Alternatives are part of the text so that BM25 and the embedding match them too.
        questions = "\n".join((entry.question, *entry.alternatives))
        return _make_chunk(
            kind="faq",
            text=f"{questions}\n{entry.answer}",
            source=source,
            title=entry.question,
            section=entry.category,
            question=entry.question,
            answer=entry.answer,
            category=entry.category,
            language=entry.language,
            doc_id=entry.faq_id,
            alternatives="\n".join(entry.alternatives) or None,
        )

    def _section_chunks(self, source: str, title: str, section: Section) -> list[Chunk]:
        return [
            _make_chunk(
                kind="doc",
                text=piece,
                source=source,
                title=section.title or title,
                section=section.heading,
                doc_id=section.doc_id,
            )
            for piece in self.split(section.text)
        ]
