"""The periodic check: a worker answers an FAQ another process added, without being told."""

from __future__ import annotations

import asyncio
import contextlib

from knowledge.refresh import keep_fresh
from tests.knowledge.conftest import OpenWorker

QUESTION, ANSWER = "Do you price-match other shops?", "Yes, within 7 days of purchase."


def bm25_answer(kb: object, question: str) -> str | None:
    hits = kb.search(question, 3, mode="bm25")  # type: ignore[attr-defined]
    found = [p.answer for p in hits if p.kind == "faq" and p.question == question]
    return found[0] if found else None


async def test_a_worker_picks_up_a_change_nobody_published(open_worker: OpenWorker) -> None:
    cli, worker = open_worker("cli"), open_worker("worker")
    checking = asyncio.create_task(keep_fresh(worker, 0.05))
    try:
        await asyncio.to_thread(cli.add_faq, QUESTION, ANSWER)
        async with asyncio.timeout(10):
            while bm25_answer(worker, QUESTION) is None:
                await asyncio.sleep(0.05)
        assert bm25_answer(worker, QUESTION) == ANSWER
    finally:
        checking.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await checking


async def test_an_interval_of_zero_turns_the_check_off(open_worker: OpenWorker) -> None:
    await asyncio.wait_for(keep_fresh(open_worker("worker"), 0), timeout=5)
