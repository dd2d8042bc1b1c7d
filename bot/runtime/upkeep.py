"""A worker's background chores: deliver what is due, answer orphaned messages, forget old
records, and start platforms that were down at start-up."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import structlog

from core.errors import ConfigError, KefuError
from core.types import utcnow
from knowledge.refresh import keep_fresh

if TYPE_CHECKING:
    from bot.runtime.delivery import Delivery
    from bot.runtime.runner import ConversationRunner
    from core.storage.inbox import InboxStore
    from core.storage.outbox import OutboxStore
    from core.storage.shared import SharedValues
    from knowledge.base import KnowledgeBase

log = structlog.get_logger(__name__)

DELIVERY_EVERY_S = 1.0
ORPHANS_EVERY_S = 5.0
RETENTION_EVERY_S = 3600.0
_ADAPTER_RETRY_FIRST_S = 2.0
_ADAPTER_RETRY_MAX_S = 120.0


@dataclass(slots=True, frozen=True)
class Chores:
    """What a worker's chores work on."""

    delivery: Delivery
    runner: ConversationRunner
    inbox: InboxStore
    outbox: OutboxStore
    shared: SharedValues
    knowledge: KnowledgeBase
    retention: timedelta
    """How long answered messages and delivered replies are kept."""
    refresh_interval_s: float
    """How often the knowledge generation is checked (0: never)."""


class Upkeep:
    """Runs the chores of one worker until :meth:`stop`."""

    def __init__(self, chores: Chores) -> None:
        self._chores = chores
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        chores = self._chores
        self._every(DELIVERY_EVERY_S, "delivery", chores.delivery.sweep)
        self._every(ORPHANS_EVERY_S, "orphans", chores.runner.answer_orphans)
        self._every(RETENTION_EVERY_S, "retention", self._forget_old)
        # Changes nobody announced on the bus (the CLI, a worker that died) are seen this way.
        keeping = keep_fresh(chores.knowledge, chores.refresh_interval_s)
        self._tasks.append(asyncio.create_task(keeping))

    async def start_adapter(self, adapter: Any) -> None:
        """Starts a channel now, or keeps trying in the background while its platform is
        unreachable: one platform down must not take the whole server down."""
        try:
            await adapter.start()
        except ConfigError:
            raise  # a rejected token will not get better by waiting: say so and stop
        except (KefuError, OSError) as e:
            log.error("adapter.start_failed", platform=adapter.platform, error=str(e))
            self._tasks.append(asyncio.create_task(self._retry_start(adapter)))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _retry_start(self, adapter: Any) -> None:
        wait = _ADAPTER_RETRY_FIRST_S
        while True:
            await asyncio.sleep(wait)
            try:
                await adapter.start()
            except ConfigError as e:
                log.error("adapter.start_refused", platform=adapter.platform, error=str(e))
                return
            except (KefuError, OSError) as e:
                wait = min(wait * 2, _ADAPTER_RETRY_MAX_S)
                log.warning("adapter.start_retry_failed", platform=adapter.platform, error=str(e))
                continue
            log.info("adapter.started_after_retry", platform=adapter.platform)
            return

    def _every(self, seconds: float, name: str, chore: Callable[[], Awaitable[object]]) -> None:
        async def loop() -> None:
            while True:
                await asyncio.sleep(seconds)
                try:
                    await chore()
                except Exception:
                    log.exception("runtime.upkeep.failed", chore=name)

        self._tasks.append(asyncio.create_task(loop()))

    async def _forget_old(self) -> None:
        chores = self._chores
        cutoff = utcnow() - chores.retention
        inbox = await chores.inbox.forget(older_than=cutoff)
        outbox = await chores.outbox.forget(older_than=cutoff)
        await chores.shared.forget_expired()
        log.info("runtime.retention.forgot", inbox=inbox, outbox=outbox)
