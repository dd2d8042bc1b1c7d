"""Delivery from the outbox: retried on transient failures, in order, once per message, and
a failure agents can see when the platform will not take it."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from bot.runtime.bus import AGENTS, LocalBus, Note, PostgresBus
from bot.runtime.delivery import Delivery
from bot.runtime.locks import named_locks
from core.errors import AdapterError, TransientDeliveryError
from core.events import EventKind
from core.storage import ConversationStore, Database
from core.storage.outbox import OutboxStore
from core.types import ConversationKey, OutgoingMessage

CHAT = ConversationKey("telegram", "42", "42")


class FlakyPlatform:
    """A push platform that fails the first calls as told, and records what it took."""

    platform = "telegram"
    delivery = "push"

    def __init__(self, failures: list[Exception] | None = None) -> None:
        self.failures = failures or []
        self.sent: list[str] = []

    async def send(self, key: ConversationKey, message: OutgoingMessage) -> None:
        if self.failures:
            raise self.failures.pop(0)
        await asyncio.sleep(0.01)
        self.sent.append(message.text)


async def until(condition: object, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def delivery_for(
    database: Database, platform: FlakyPlatform, bus: LocalBus, window_s: float = 30
) -> Delivery:
    return Delivery(
        OutboxStore(database),
        {"telegram": platform},
        named_locks(database.engine, "delivery"),
        bus,
        retry_window=timedelta(seconds=window_s),
    )


async def test_a_busy_platform_gets_the_messages_later_in_order_once(database: Database) -> None:
    platform = FlakyPlatform([TransientDeliveryError("500 Internal Server Error")])
    delivery = delivery_for(database, platform, LocalBus())

    await delivery.enqueue(CHAT, OutgoingMessage("first"))
    await delivery.enqueue(CHAT, OutgoingMessage("second"))
    await until(lambda: len(platform.sent) == 2)
    await asyncio.sleep(0.6)  # no late duplicate either

    assert platform.sent == ["first", "second"]
    assert await OutboxStore(database).counts() == {"sent": 2}


async def test_a_refused_message_is_marked_failed_and_the_next_still_goes(
    database: Database,
) -> None:
    platform = FlakyPlatform([AdapterError("bot was blocked by the user")])
    bus = LocalBus()
    frames: list[Note] = []

    async def agents(note: Note) -> None:
        frames.append(note)

    bus.subscribe(AGENTS, agents)
    delivery = delivery_for(database, platform, bus)

    await delivery.enqueue(CHAT, OutgoingMessage("refused"))
    await delivery.enqueue(CHAT, OutgoingMessage("next"))
    await until(lambda: platform.sent == ["next"] and frames)

    failed = await ConversationStore(database).events(CHAT, kinds=[EventKind.DELIVERY_FAILED])
    assert [e.text for e in failed] == ["refused"]
    assert frames[0]["frame"]["type"] == "delivery_failed"


async def test_retries_end_when_the_window_closes(database: Database) -> None:
    platform = FlakyPlatform([TransientDeliveryError("busy")] * 10)
    delivery = delivery_for(database, platform, LocalBus(), window_s=0.3)

    await delivery.enqueue(CHAT, OutgoingMessage("never"))
    await asyncio.sleep(0.1)
    assert await delivery.flush(5) is True

    assert platform.sent == []
    assert await OutboxStore(database).counts() == {"failed": 1}


async def test_two_workers_send_each_message_once(postgres_url: str) -> None:
    databases = [Database(postgres_url), Database(postgres_url)]
    await databases[0].upgrade()
    platforms = [FlakyPlatform(), FlakyPlatform()]
    buses = [PostgresBus(db.url) for db in databases]
    for bus in buses:
        await bus.start()
    workers = [
        delivery_for(db, p, bus) for db, p, bus in zip(databases, platforms, buses, strict=True)
    ]
    try:
        for n in range(20):
            await workers[n % 2].enqueue(CHAT, OutgoingMessage(f"message {n}"))
        await until(lambda: len(platforms[0].sent) + len(platforms[1].sent) >= 20)
        await asyncio.sleep(0.5)
        for worker in workers:
            await worker.sweep()
    finally:
        for bus in buses:
            await bus.close()
        for db in databases:
            await db.dispose()

    sent = platforms[0].sent + platforms[1].sent
    assert sorted(sent) == sorted(f"message {n}" for n in range(20))
    for platform in platforms:  # whoever sent, sent in order
        numbers = [int(text.split()[1]) for text in platform.sent]
        assert numbers == sorted(numbers)


async def test_the_bus_reaches_other_workers(postgres_url: str) -> None:
    first, second = Database(postgres_url), Database(postgres_url)
    buses = [PostgresBus(first.url), PostgresBus(second.url)]
    heard: list[tuple[str, Note]] = []
    for name, bus in zip("ab", buses, strict=True):

        async def listen(note: Note, name: str = name) -> None:
            heard.append((name, note))

        bus.subscribe(AGENTS, listen)
        await bus.start()
    try:
        await buses[0].publish(AGENTS, {"agent_id": 7, "frame": {"type": "queue"}})
        await until(lambda: len(heard) == 2)
    finally:
        for bus in buses:
            await bus.close()
        await first.dispose()
        await second.dispose()

    assert sorted(name for name, _ in heard) == ["a", "b"]
    assert all(note["agent_id"] == 7 for _, note in heard)
