"""Tables of the knowledge state, declared on the store's ``Base`` (migration
``0005_knowledge_state``).

The vectors stay in Chroma; these tables say what the index was built from (the manifest,
per collection), what admins added by hand (FAQ additions, also approved review candidates),
and a generation number that every change moves, so each worker knows when to rebuild its
in-memory lexical index.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.storage.models import Base, JSONDocument


class KnowledgeGeneration(Base):
    """One row (``id`` 1): the knowledge generation, moved by every change to the index."""

    __tablename__ = "kb_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]


class KnowledgeSource(Base):
    """One source of one collection: the file it was indexed from and its content hash.

    Written by whichever process indexed the source (a server worker or ``kefu kb ingest``), in
    the same change, after its chunks are in Chroma.
    """

    __tablename__ = "kb_sources"

    collection: Mapped[str] = mapped_column(String(255), primary_key=True)
    source: Mapped[str] = mapped_column(String(1024), primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    """Absolute path of the file when it was indexed (empty for the FAQ additions)."""
    root: Mapped[str] = mapped_column(Text)
    """The folder ``source`` is relative to."""
    sha256: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(255))
    """Machine that indexed it: only a machine that can see the file may declare it gone."""
    updated_at: Mapped[datetime]


class KnowledgeAddition(Base):
    """One FAQ entry added by an admin (``/kb add``) or an approved review candidate."""

    __tablename__ = "kb_additions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """``added-<sha1 of the normalised question>``: the same question replaces its answer."""
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(255))
    language: Mapped[str | None] = mapped_column(String(8))
    alternatives: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    """Other phrasings of the question (``/kb alias``)."""
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]
    """Set by ``/kb delete``; a deleted entry is kept for the record and never indexed."""


class KnowledgePhrasing(Base):
    """Another way of asking an FAQ entry (相似问) learned after the entry was written: an
    agent's correction or a 👍-confirmed rephrasing approved in review, or ``/kb alias`` on an
    entry from a file. Matched question to question like the entry's own alternatives; kept
    across reloads and re-indexing of the file (migration ``0006_kb_phrasings``)."""

    __tablename__ = "kb_phrasings"
    __table_args__ = (UniqueConstraint("faq_id", "phrasing_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    faq_id: Mapped[str] = mapped_column(String(255), index=True)
    """The entry's id (``doc_id``: an FAQ row's id, or ``added-...``)."""
    phrasing: Mapped[str] = mapped_column(Text)
    phrasing_key: Mapped[str] = mapped_column(String(64))
    """sha1 of the normalised phrasing: the same wording is learned once."""
    origin: Mapped[str] = mapped_column(String(32))
    """``review`` (an approved candidate) or ``alias`` (``/kb alias``)."""
    created_at: Mapped[datetime]


KNOWLEDGE_TABLES = frozenset({"kb_generation", "kb_sources", "kb_additions", "kb_phrasings"})
