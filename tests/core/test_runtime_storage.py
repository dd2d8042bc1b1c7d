"""The durable inbox, outbox, turn buffer and shared values, on every backend."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from core.events import EventKind
from core.storage import ConversationStore, Database
from core.storage.inbox import InboxStore, mark_answered
from core.storage.outbox import EventToRecord, OutboxStore, add_messages
from core.storage.shared import SharedValues
from core.storage.turns import turn_scope
from core.types import Button, Citation, ConversationKey, IncomingMessage, OutgoingMessage
from tests.core.conftest import FakeClock

ALICE = ConversationKey("wecom", "alice", "alice")
BOB = ConversationKey("wecom", "bob", "bob")


def message(key: ConversationKey, message_id: str, text: str = "你好") -> IncomingMessage:
    return IncomingMessage(message_id, key, text, sender_name=key.user_id)


async def test_a_message_is_recorded_once_and_counted_once(database: Database) -> None:
    inbox = InboxStore(database)

    first = await inbox.record(message(ALICE, "m1"), rate_name="wecom:alice")
    again = await inbox.record(message(ALICE, "m1"), rate_name="wecom:alice")
    second = await inbox.record(message(ALICE, "m2"), rate_name="wecom:alice")

    assert (first.first_time, again.first_time, second.first_time) == (True, False, True)
    assert again.entry.id == first.entry.id
    assert (first.hits_this_minute, again.hits_this_minute, second.hits_this_minute) == (1, 0, 2)
    assert first.entry.message.text == "你好" and first.entry.message.key == ALICE


async def test_two_workers_recording_one_message_keep_one_record(database_url: str) -> None:
    workers = [Database(database_url) for _ in range(2)]
    await workers[0].upgrade()
    inboxes = [InboxStore(worker) for worker in workers]
    try:
        arrivals = await asyncio.gather(
            *(inboxes[n % 2].record(message(ALICE, "msg-42"), rate_name=None) for n in range(10))
        )
    finally:
        for worker in workers:
            await worker.dispose()

    assert [a.first_time for a in arrivals].count(True) == 1
    assert len({a.entry.id for a in arrivals}) == 1


async def test_unanswered_messages_come_in_arrival_order_until_answered(
    database: Database,
) -> None:
    inbox = InboxStore(database)
    ids = [(await inbox.record(message(ALICE, f"m{n}"), rate_name=None)).entry.id for n in (1, 2)]
    await inbox.record(message(BOB, "b1"), rate_name=None)

    waiting = await inbox.unanswered(ALICE.as_str(), up_to=None)
    async with database.sessions() as session, session.begin():
        await mark_answered(session, ids[0], waiting[0].received_at)

    assert [e.message.message_id for e in waiting] == ["m1", "m2"]
    assert [e.id for e in await inbox.unanswered(ALICE.as_str(), up_to=None)] == [ids[1]]
    assert await inbox.unanswered(ALICE.as_str(), up_to=ids[0]) == []


async def test_a_turn_commits_its_events_state_and_replies_together(database: Database) -> None:
    store, outbox = ConversationStore(database), OutboxStore(database)
    reply = OutgoingMessage("您好！", buttons=(Button("人工", "/human"),))
    with turn_scope(ALICE) as buffer:
        await store.append_event(ALICE, EventKind.USER_MESSAGE, text="你好")
        await store.save_state(ALICE, {"slots": {"order": "DD1"}})
        seen_inside = await store.events(ALICE)
        assert await store.events(ALICE) and await store.get(ALICE) is None  # nothing written

        async def finish(session, now) -> None:  # type: ignore[no-untyped-def]
            await add_messages(session, ALICE, [reply], "bot", None, now)

        committed = await store.commit_turn(buffer, finish)

    assert [e.text for e in seen_inside] == ["你好"]
    assert [e.text for e in await store.events(ALICE)] == ["你好"]
    assert committed[0].id > 0
    record = await store.get(ALICE)
    assert record is not None and record.state == {"slots": {"order": "DD1"}}
    (pending,) = await outbox.pending(ALICE)
    assert pending.message == reply


async def test_a_failed_turn_leaves_nothing_behind(database: Database) -> None:
    store = ConversationStore(database)
    with turn_scope(ALICE):
        await store.append_event(ALICE, EventKind.USER_MESSAGE, text="lost in a crash")

    assert await store.events(ALICE) == []


async def test_pull_channels_take_each_message_once(database_url: str) -> None:
    workers = [Database(database_url) for _ in range(2)]
    await workers[0].upgrade()
    outboxes = [OutboxStore(worker) for worker in workers]
    try:
        for n in range(5):
            await outboxes[0].enqueue(ALICE, OutgoingMessage(f"agent {n}"), source="agent")
        taken = await asyncio.gather(*(outboxes[n % 2].take(ALICE) for n in range(6)))
    finally:
        for worker in workers:
            await worker.dispose()

    texts = sorted(entry.message.text for batch in taken for entry in batch)
    assert texts == [f"agent {n}" for n in range(5)]


async def test_an_agent_reply_and_its_event_are_stored_together(database: Database) -> None:
    store, outbox = ConversationStore(database), OutboxStore(database)
    cited = OutgoingMessage("见保修政策", citations=(Citation("faq.csv", "保修"),))

    entry, event = await outbox.enqueue(
        ALICE, cited, source="agent", record=EventToRecord(EventKind.AGENT_MESSAGE, {"a": 1})
    )

    assert event is not None and event.text == "见保修政策"
    assert [e.kind for e in await store.events(ALICE)] == [EventKind.AGENT_MESSAGE]
    assert entry.message.citations[0].title == "保修" and entry.source == "agent"


async def test_a_failed_delivery_is_logged_where_agents_see_it(database: Database) -> None:
    store, outbox = ConversationStore(database), OutboxStore(database)
    entry, _ = await outbox.enqueue(ALICE, OutgoingMessage("hello"), source="bot")

    await outbox.mark_failed(entry, "bot was blocked")

    assert await outbox.pending(ALICE) == []
    assert await outbox.counts() == {"failed": 1}
    (event,) = await store.events(ALICE)
    assert event.kind == EventKind.DELIVERY_FAILED and event.payload["error"] == "bot was blocked"


async def test_old_records_are_forgotten_but_failures_kept(
    database: Database, clock: FakeClock
) -> None:
    inbox, outbox = InboxStore(database, clock=clock), OutboxStore(database, clock=clock)
    old = await inbox.record(message(ALICE, "old"), rate_name=None)
    async with database.sessions() as session, session.begin():
        await mark_answered(session, old.entry.id, clock.now)
    sent, _ = await outbox.enqueue(ALICE, OutgoingMessage("sent"), source="bot")
    await outbox.mark_sent(sent.id)
    failed, _ = await outbox.enqueue(ALICE, OutgoingMessage("failed"), source="bot")
    await outbox.mark_failed(failed, "gone")
    clock.advance(days=4)

    assert await inbox.forget(older_than=clock.now - timedelta(days=3)) == 1
    assert await outbox.forget(older_than=clock.now - timedelta(days=3)) == 1
    assert (await inbox.record(message(ALICE, "old"), rate_name=None)).first_time is True
    assert await outbox.counts() == {"failed": 1}


async def test_shared_values_expire(database: Database, clock: FakeClock) -> None:
    values = SharedValues(database, clock=clock)
    await values.put("wecom.options", ALICE.as_str(), {"buttons": [1]}, ttl=timedelta(hours=1))
    await values.put("wecom.options", ALICE.as_str(), {"buttons": [2]}, ttl=timedelta(hours=1))

    assert await values.get("wecom.options", ALICE.as_str()) == {"buttons": [2]}
    clock.advance(hours=2)
    assert await values.get("wecom.options", ALICE.as_str()) is None
