"""Keeping a worker's lexical index in step with knowledge changes made by other processes.

Workers learn of a change two ways: the changing worker's ``on_changed`` hook (published on the
bus, so every worker calls :meth:`KnowledgeBase.refresh_if_changed` within moments), and this
periodic check, which also catches changes nobody published (``kefu kb ingest``, a worker that
died before publishing, a missed notification).
"""

from __future__ import annotations

import asyncio
from typing import Protocol

import structlog

from core.errors import KefuError

log = structlog.get_logger(__name__)


class Refreshable(Protocol):
    def refresh_if_changed(self) -> bool: ...


async def keep_fresh(knowledge: Refreshable, interval_s: float) -> None:
    """Checks the knowledge generation every ``interval_s`` seconds until cancelled.

    Run it as a task next to the server (``KnowledgeSettings.refresh_interval_s``); returns at
    once when ``interval_s`` is 0 or less. A failed check is logged and retried next time: the
    previous index keeps answering.
    """
    if interval_s <= 0:
        return
    while True:
        await asyncio.sleep(interval_s)
        try:
            await asyncio.to_thread(knowledge.refresh_if_changed)
        except KefuError as error:
            log.warning("kb.refresh.failed", error=str(error))
