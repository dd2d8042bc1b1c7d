"""Gauges read when ``/metrics`` is scraped: handoff queue, outbox, knowledge base.

The metrics endpoint awaits :meth:`GaugeSources.refresh` before rendering. A source that fails
leaves its gauges at their last value and counts ``kefu_metrics_source_errors_total``; a scrape
never fails because the database is slow.

Hooks (set by the composition root):

- ``sources.set_handoff_source(queue.waiting)``: an async callable returning the waiting
  handoffs (objects with a timezone-aware ``created_at``);
- ``sources.set_outbox_source(async_fn)``: an async callable returning
  ``{"pending": n, "failed": m}`` from the outbox table;
- ``sources.set_knowledge_source(kb.stats)``: a sync callable (run in a worker thread)
  returning an object with ``chunks`` and, when the store keeps one, ``generation``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

import structlog

from core.telemetry.metrics import (
    HANDOFF_OLDEST_WAIT,
    HANDOFF_WAITING,
    KNOWLEDGE_CHUNKS,
    KNOWLEDGE_GENERATION,
    OUTBOX,
    SCRAPE_ERRORS,
)
from core.types import utcnow

log = structlog.get_logger(__name__)

SOURCE_TIMEOUT_S = 5.0


class Waiting(Protocol):
    @property
    def created_at(self) -> datetime: ...


HandoffSource = Callable[[], Awaitable[Sequence[Waiting]]]
OutboxSource = Callable[[], Awaitable[Mapping[str, int]]]
KnowledgeSource = Callable[[], Any]


class GaugeSources:
    """Where the scrape-time gauges read their values."""

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self._clock = clock
        self._handoff: HandoffSource | None = None
        self._outbox: OutboxSource | None = None
        self._knowledge: KnowledgeSource | None = None
        OUTBOX.labels(state="pending").set(-1)
        OUTBOX.labels(state="failed").set(-1)

    def watch(self, handoff: HandoffSource, knowledge: KnowledgeSource) -> None:
        """The handoff queue's waiting list and the knowledge base's stats."""
        self._handoff = handoff
        self._knowledge = knowledge

    def set_handoff_source(self, source: HandoffSource) -> None:
        self._handoff = source

    def set_outbox_source(self, source: OutboxSource) -> None:
        """The outbox counts: an async callable returning ``{"pending": n, "failed": m}``."""
        self._outbox = source

    def set_knowledge_source(self, source: KnowledgeSource) -> None:
        self._knowledge = source

    async def refresh(self) -> None:
        """Reads every source (each within a few seconds) into its gauges."""
        await asyncio.gather(
            self._read("handoff", self._refresh_handoff),
            self._read("outbox", self._refresh_outbox),
            self._read("knowledge", self._refresh_knowledge),
        )

    async def _read(self, name: str, refresh: Callable[[], Awaitable[None]]) -> None:
        try:
            await asyncio.wait_for(refresh(), SOURCE_TIMEOUT_S)
        except Exception as e:  # a scrape must answer even while a source is down
            SCRAPE_ERRORS.labels(source=name).inc()
            log.warning("metrics.source_failed", source=name, error=type(e).__name__)

    async def _refresh_handoff(self) -> None:
        if self._handoff is None:
            return
        waiting = await self._handoff()
        HANDOFF_WAITING.set(len(waiting))
        now = self._clock()
        oldest = max(((now - w.created_at).total_seconds() for w in waiting), default=0.0)
        HANDOFF_OLDEST_WAIT.set(max(oldest, 0.0))

    async def _refresh_outbox(self) -> None:
        if self._outbox is None:
            return
        counts = await self._outbox()
        for state in ("pending", "failed"):
            OUTBOX.labels(state=state).set(counts.get(state, 0))

    async def _refresh_knowledge(self) -> None:
        if self._knowledge is None:
            return
        stats = await asyncio.to_thread(self._knowledge)
        KNOWLEDGE_CHUNKS.set(stats.chunks)
        generation = getattr(stats, "generation", None)
        KNOWLEDGE_GENERATION.set(generation if isinstance(generation, int) else -1)
