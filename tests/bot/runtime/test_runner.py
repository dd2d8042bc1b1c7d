"""The conversation runner: every message answered once, in order, by whichever worker."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from bot.runtime.bus import LocalBus
from bot.runtime.locks import named_locks
from bot.runtime.runner import ConversationRunner
from core.errors import StorageError
from core.events import EventKind
from core.storage import ConversationStore, Database
from core.storage.inbox import InboxStore
from core.storage.outbox import OutboxStore
from core.types import ConversationKey, IncomingMessage, OutgoingMessage, StreamSink
from tests.core.conftest import FakeClock

ALICE = ConversationKey("rest", "alice", "alice")


class Remembering:
    """A pipeline that logs the message, answers with what it saw of the conversation so far,
    and can be made slow or broken for one message."""

    def __init__(self, store: ConversationStore) -> None:
        self.store = store
        self.answered: list[str] = []
        self.slow: set[str] = set()
        self.fail_once: set[str] = set()

    async def __call__(
        self, message: IncomingMessage, *, stream: StreamSink | None = None
    ) -> Sequence[OutgoingMessage]:
        await self.store.append_event(message.key, EventKind.USER_MESSAGE, text=message.text)
        if message.text in self.slow:
            await asyncio.sleep(0.3)
        if message.text in self.fail_once:
            self.fail_once.discard(message.text)
            raise StorageError("database went away mid-turn")
        earlier = [e.text for e in await self.store.events(message.key)][:-1]
        self.answered.append(message.text)
        reply = OutgoingMessage(f"{message.text} (after {earlier})")
        await self.store.append_event(message.key, EventKind.BOT_REPLY, text=reply.text)
        return [reply]


def worker(
    database: Database, *, rate: int = 0, clock: FakeClock | None = None
) -> tuple[ConversationRunner, Remembering]:
    store = ConversationStore(database)
    pipeline = Remembering(store)
    extra = {"clock": clock} if clock else {}
    runner = ConversationRunner(
        InboxStore(database, **extra),
        OutboxStore(database),
        store,
        pipeline,
        named_locks(database.engine, "conversation"),
        LocalBus(),
        rate_limit_per_minute=rate,
        **extra,
    )
    return runner, pipeline


def says(message_id: str, text: str, key: ConversationKey = ALICE) -> IncomingMessage:
    return IncomingMessage(message_id, key, text)


async def test_a_redelivered_message_gets_its_stored_replies(database: Database) -> None:
    runner, pipeline = worker(database)

    first = await runner.handle(says("m1", "hello"))
    again = await runner.handle(says("m1", "hello"))

    assert pipeline.answered == ["hello"]
    assert [e.message.text for e in again] == [e.message.text for e in first]
    events = await ConversationStore(database).events(ALICE)
    assert [e.kind for e in events] == [EventKind.USER_MESSAGE, EventKind.BOT_REPLY]


async def test_quick_messages_are_answered_in_arrival_order_with_context(
    database: Database,
) -> None:
    runner, pipeline = worker(database)
    pipeline.slow.add("first")

    async def later() -> list[str]:
        await asyncio.sleep(0.01)
        return [e.message.text for e in await runner.handle(says("m2", "second"))]

    first, second = await asyncio.gather(runner.handle(says("m1", "first")), later())

    assert pipeline.answered == ["first", "second"]
    assert second == ["second (after ['first', 'first (after [])'])"]
    assert [e.message.text for e in first] == ["first (after [])"]


async def test_a_turn_killed_midway_leaves_no_trace_and_is_answered_once(
    database: Database,
) -> None:
    runner, pipeline = worker(database)
    pipeline.slow.add("where is my parcel?")
    turn = asyncio.create_task(runner.handle(says("m1", "where is my parcel?")))
    await asyncio.sleep(0.1)
    turn.cancel()  # the worker dies mid-turn
    await asyncio.gather(turn, return_exceptions=True)
    assert await ConversationStore(database).events(ALICE) == []

    pipeline.slow.clear()
    replies = await runner.handle(says("m1", "where is my parcel?"))  # redelivered

    assert [r.message.text for r in replies] == ["where is my parcel? (after [])"]
    events = await ConversationStore(database).events(ALICE, kinds=[EventKind.USER_MESSAGE])
    assert [e.text for e in events] == ["where is my parcel?"]


async def test_a_failed_commit_keeps_the_message_for_the_next_try(database: Database) -> None:
    runner, pipeline = worker(database)
    pipeline.fail_once.add("hi")

    with pytest.raises(StorageError):
        await runner.handle(says("m1", "hi"))
    replies = await runner.handle(says("m1", "hi"))

    assert [r.message.text for r in replies] == ["hi (after [])"]


async def test_orphaned_messages_are_answered_by_the_sweep(
    database: Database, clock: FakeClock
) -> None:
    runner, pipeline = worker(database, clock=clock)
    await InboxStore(database, clock=clock).record(
        says("m9", "acked, then a crash"), rate_name=None
    )

    assert await runner.answer_orphans() == 0  # too recent: its worker may still be on it
    clock.advance(seconds=30)
    assert await runner.answer_orphans() == 1

    assert pipeline.answered == ["acked, then a crash"]
    (pending,) = await OutboxStore(database).pending(ALICE)  # delivery sends it
    assert pending.message.text.startswith("acked, then a crash")


async def test_the_rate_limit_is_shared_by_every_worker(database_url: str) -> None:
    databases = [Database(database_url), Database(database_url)]
    await databases[0].upgrade()
    workers = [worker(db, rate=3) for db in databases]
    try:
        replies = [await workers[n % 2][0].handle(says(f"m{n}", f"question {n}")) for n in range(5)]
    finally:
        for db in databases:
            await db.dispose()

    limited = [r[0].message.custom.get("answer_kind") == "refusal" for r in replies]
    assert limited == [False, False, False, True, True]


async def test_two_workers_answer_one_conversation_in_order(postgres_url: str) -> None:
    databases = [Database(postgres_url), Database(postgres_url)]
    await databases[0].upgrade()
    (a, pipeline_a), (b, pipeline_b) = (worker(db) for db in databases)
    pipeline_a.slow.add("first")
    pipeline_b.slow.add("first")
    try:

        async def to_b() -> list[OutgoingMessage]:
            await asyncio.sleep(0.01)
            return [e.message for e in await b.handle(says("m2", "second"))]

        first, second = await asyncio.gather(a.handle(says("m1", "first")), to_b())
        events = await ConversationStore(databases[0]).events(ALICE, kinds=["user_message"])
    finally:
        for db in databases:
            await db.dispose()

    assert [e.text for e in events] == ["first", "second"]
    assert second[0].text == "second (after ['first', 'first (after [])'])"
    assert first[0].message.text == "first (after [])"
    assert len(pipeline_a.answered + pipeline_b.answered) == 2


async def test_draining_refuses_new_messages_and_waits_for_turns(database: Database) -> None:
    runner, pipeline = worker(database)
    pipeline.slow.add("slow")
    turn = asyncio.create_task(runner.handle(says("m1", "slow")))
    await asyncio.sleep(0.05)

    finished = await runner.drain(timeout=5)

    assert finished and turn.done() and pipeline.answered == ["slow"]
    with pytest.raises(Exception, match="shutting down"):
        await runner.handle(says("m2", "too late"))
