"""One stored row per language-model call (migration ``0005_llm_calls``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from core.storage import Database
from core.storage.db import storage_errors
from core.storage.models import Base


class LLMCallRow(Base):
    """A language-model call: what was asked of which model, how long it took, how it ended."""

    __tablename__ = "llm_calls"
    __table_args__ = (Index(None, "created_at"), Index(None, "model"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime]
    model: Mapped[str] = mapped_column(String(255))
    backend: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16))
    latency_ms: Mapped[float]
    first_token_ms: Mapped[float | None]
    prompt_tokens: Mapped[int | None]
    completion_tokens: Mapped[int | None]
    conversation_key: Mapped[str | None] = mapped_column(String(1024))
    error: Mapped[str | None] = mapped_column(Text)


@dataclass(slots=True, frozen=True)
class LLMCall:
    """What one call did; ``outcome`` is ok, timeout, refused or fallback."""

    created_at: datetime
    model: str
    backend: str
    purpose: str
    outcome: str
    latency_ms: float
    first_token_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    conversation_key: str | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "created_at": self.created_at.isoformat(),
            "model": self.model,
            "backend": self.backend,
            "purpose": self.purpose,
            "outcome": self.outcome,
            "latency_ms": self.latency_ms,
            "first_token_ms": self.first_token_ms,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "conversation_key": self.conversation_key,
            "error": self.error,
        }


_FIELDS = tuple(LLMCall.__dataclass_fields__)


class LLMCallStore:
    """Writes and reads :class:`LLMCall` rows."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def add(self, call: LLMCall) -> None:
        """Stores one call.

        Raises:
            StorageError: the database failed.
        """
        values = {name: getattr(call, name) for name in _FIELDS}
        with storage_errors("record an LLM call"):
            async with self._db.sessions() as session, session.begin():
                await session.execute(insert(LLMCallRow).values(**values))

    async def since(self, start: datetime | None = None) -> list[LLMCall]:
        """Calls made at or after ``start`` (all when ``None``), oldest first.

        Raises:
            StorageError: the database failed.
        """
        query = select(LLMCallRow).order_by(LLMCallRow.id)
        if start is not None:
            query = query.where(LLMCallRow.created_at >= start)
        with storage_errors("read LLM calls"):
            async with self._db.sessions() as session:
                rows = (await session.scalars(query)).all()
        return [LLMCall(**{name: getattr(row, name) for name in _FIELDS}) for row in rows]
