"""A real runtime (inbox, conversation runner, outbox, delivery) on a throwaway SQLite
database, around a scripted pipeline: adapter tests exercise the same path as production."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.runtime.bus import LocalBus
from bot.runtime.delivery import Delivery
from bot.runtime.locks import LocalLocks
from bot.runtime.runner import ConversationRunner, TurnHandler
from core.storage import ConversationStore, Database
from core.storage.inbox import InboxStore
from core.storage.outbox import OutboxStore
from core.storage.shared import SharedValues


@dataclass
class Runtime:
    runner: ConversationRunner
    shared: SharedValues
    outbox: OutboxStore
    store: ConversationStore
    delivery: Delivery
    adapters: dict[str, Any]

    async def drain(self, seconds: float = 5.0) -> None:
        """What a worker does at shutdown: finish the turns, then deliver what is pending."""
        await self.runner.drain(seconds)
        await self.delivery.flush(seconds)

    def attach(self, adapter: Any) -> Any:
        """Lets delivery send through ``adapter``; returns it."""
        self.adapters[adapter.platform] = adapter
        return adapter


@asynccontextmanager
async def local_runtime(
    answer: TurnHandler, *, retry_window: timedelta = timedelta(seconds=30)
) -> AsyncIterator[Runtime]:
    with tempfile.TemporaryDirectory(prefix="kefu-runtime-") as folder:
        database = Database(f"sqlite+aiosqlite:///{Path(folder) / 'kefu.db'}")
        await database.upgrade()
        bus = LocalBus()
        store, outbox = ConversationStore(database), OutboxStore(database)
        adapters: dict[str, Any] = {}
        delivery = Delivery(outbox, adapters, LocalLocks(), bus, retry_window=retry_window)
        runner = ConversationRunner(
            InboxStore(database), outbox, store, answer, LocalLocks(), bus, rate_limit_per_minute=0
        )
        try:
            yield Runtime(runner, SharedValues(database), outbox, store, delivery, adapters)
        finally:
            await runner.drain(5)
            await bus.close()
            await database.dispose()
