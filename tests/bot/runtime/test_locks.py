"""Conversation locks: one holder at a time, in one process and across workers."""

from __future__ import annotations

import asyncio

import asyncpg

from bot.runtime.locks import AdvisoryLocks, LocalLocks
from core.storage import Database


async def test_a_second_holder_waits_and_unused_locks_are_forgotten() -> None:
    locks = LocalLocks()
    order: list[str] = []

    async def hold(name: str, tag: str) -> None:
        async with locks.hold(name):
            order.append(f"{tag} in")
            await asyncio.sleep(0.02)
            order.append(f"{tag} out")

    await asyncio.gather(hold("a", "1"), hold("a", "2"), hold("b", "3"))

    assert order.index("1 out") < order.index("2 in")
    assert len(locks) == 0


async def test_try_hold_does_not_wait_for_a_busy_name() -> None:
    locks = LocalLocks()
    async with locks.hold("a"), locks.try_hold("a") as got:
        assert got is False
    async with locks.try_hold("a") as got:
        assert got is True


async def test_advisory_locks_exclude_another_worker(postgres_url: str) -> None:
    workers = [Database(postgres_url), Database(postgres_url)]
    first, second = (AdvisoryLocks(w.engine, "conversation") for w in workers)
    try:
        async with first.hold("rest:alice:alice:"):
            async with second.try_hold("rest:alice:alice:") as got:
                assert got is False
            async with second.try_hold("rest:bob:bob:") as got:
                assert got is True
        async with second.try_hold("rest:alice:alice:") as got:
            assert got is True
    finally:
        for worker in workers:
            await worker.dispose()


async def test_a_dead_workers_lock_is_released_with_its_connection(postgres_url: str) -> None:
    dsn = postgres_url.replace("postgresql+asyncpg", "postgresql")
    dead_worker = await asyncpg.connect(dsn)
    await dead_worker.execute("SELECT pg_advisory_lock(hashtextextended('conversation:k', 0))")
    alive = Database(postgres_url)
    locks = AdvisoryLocks(alive.engine, "conversation")
    try:
        async with locks.try_hold("k") as got:
            assert got is False
        dead_worker.terminate()  # what kill -9 does to its socket
        async with asyncio.timeout(5), locks.hold("k"):
            pass
    finally:
        await alive.dispose()
