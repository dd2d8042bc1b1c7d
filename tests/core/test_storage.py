"""Contract tests of the conversation store, on every backend (see conftest.py)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from core.errors import StorageError
from core.events import EventKind
from core.storage import ConversationStore, Database
from core.types import ConversationKey
from tests.core.conftest import FakeClock

ALICE = ConversationKey("telegram", "chat-1", "alice")
BOB = ConversationKey("discord", "guild-7", "bob", thread_id="thread-3")


async def test_events_are_read_back_in_the_order_they_were_appended(
    store: ConversationStore,
) -> None:
    await store.append_event(ALICE, EventKind.USER_MESSAGE, text="Where is my order?")
    await store.append_event(BOB, EventKind.USER_MESSAGE, text="hello")
    await store.append_event(
        ALICE, EventKind.UNDERSTANDING, payload={"intent": "order_status", "confidence": 0.9}
    )
    await store.append_event(ALICE, EventKind.BOT_REPLY, text="It ships today.")

    events = await store.events(ALICE)

    assert [(e.kind, e.text) for e in events] == [
        ("user_message", "Where is my order?"),
        ("understanding", None),
        ("bot_reply", "It ships today."),
    ]
    assert events[1].payload == {"intent": "order_status", "confidence": 0.9}
    assert [e.id for e in events] == sorted(e.id for e in events)
    assert len({e.conversation_id for e in events}) == 1
    assert all(e.created_at.utcoffset() == timedelta(0) for e in events)
    assert [e.text for e in await store.events(BOB)] == ["hello"]


async def test_events_can_be_filtered_by_kind(store: ConversationStore) -> None:
    await store.append_event(ALICE, EventKind.USER_MESSAGE, text="hi")
    await store.append_event(ALICE, EventKind.BOT_REPLY, text="hello!")
    await store.append_event(ALICE, EventKind.FEEDBACK, payload={"rating": "up"})

    replies = await store.events(ALICE, kinds=[EventKind.BOT_REPLY, EventKind.FEEDBACK])
    lone = await store.events(ALICE, kinds=EventKind.USER_MESSAGE)

    assert [e.kind for e in replies] == [EventKind.BOT_REPLY, EventKind.FEEDBACK]
    assert [e.text for e in lone] == ["hi"]


async def test_limit_returns_the_last_events_oldest_first(store: ConversationStore) -> None:
    for n in range(7):
        await store.append_event(ALICE, EventKind.USER_MESSAGE, text=f"message {n}")

    last_three = await store.events(ALICE, limit=3)

    assert [e.text for e in last_three] == ["message 4", "message 5", "message 6"]
    assert await store.events(ALICE, limit=0) == []
    assert len(await store.events(ALICE, limit=100)) == 7


async def test_unknown_conversation_has_no_events_and_is_not_created(
    store: ConversationStore,
) -> None:
    assert await store.events(ALICE) == []
    assert await store.get(ALICE) is None
    assert await store.conversations() == []


async def test_state_round_trips_json_with_chinese_text(store: ConversationStore) -> None:
    state = {
        "slots": {"城市": "上海", "order_id": "A-1024", "items": ["绿茶", "乌龙茶"]},
        "turns": 3,
        "satisfied": None,
        "emoji": "👍",
    }

    await store.save_state(ALICE, state)
    stored = await store.get_or_create(ALICE)

    assert stored.state == state


async def test_new_conversation_starts_with_the_bot_and_empty_state(
    store: ConversationStore,
) -> None:
    record = await store.get_or_create(BOB, display_name="Bob 王")

    assert record.key == BOB
    assert record.status == "bot"
    assert record.state == {}
    assert record.display_name == "Bob 王"
    assert record.created_at.utcoffset() == timedelta(0)
    assert await store.get(BOB) == record


async def test_display_name_follows_the_platform(store: ConversationStore) -> None:
    await store.get_or_create(ALICE, display_name="Alice")
    renamed = await store.get_or_create(ALICE, display_name="Alice Chen")
    unchanged = await store.get_or_create(ALICE)

    assert renamed.display_name == "Alice Chen"
    assert unchanged.display_name == "Alice Chen"


async def test_status_changes_are_listed(store: ConversationStore) -> None:
    await store.get_or_create(ALICE)
    await store.get_or_create(BOB)

    await store.set_status(BOB, "waiting")

    assert [c.key for c in await store.conversations(status="waiting")] == [BOB]
    assert (await store.get_or_create(BOB)).status == "waiting"
    assert [c.key for c in await store.conversations()] == [ALICE, BOB]


async def test_a_conversation_survives_a_restart(database_url: str) -> None:
    first = Database(database_url)
    await first.upgrade()
    store = ConversationStore(first)
    created = await store.get_or_create(ALICE, display_name="Alice")
    await store.append_event(ALICE, EventKind.USER_MESSAGE, text="我的快递到哪了？")
    await store.save_state(ALICE, {"slots": {"order_id": "A-1"}})
    await store.set_status(ALICE, "assigned")
    await first.dispose()

    second = Database(database_url)
    await second.upgrade()  # at every start: must keep the data
    reopened = ConversationStore(second)
    try:
        record = await reopened.get_or_create(ALICE)
        events = await reopened.events(ALICE)
    finally:
        await second.dispose()

    assert record.id == created.id
    assert (record.status, record.state) == ("assigned", {"slots": {"order_id": "A-1"}})
    assert [e.text for e in events] == ["我的快递到哪了？"]


async def test_concurrent_get_or_create_of_one_key_yields_one_conversation(
    database_url: str,
) -> None:
    workers = [Database(database_url) for _ in range(2)]
    await workers[0].upgrade()
    stores = [ConversationStore(worker) for worker in workers]
    try:
        records = await asyncio.gather(
            *(stores[n % 2].get_or_create(ALICE, display_name="Alice") for n in range(10))
        )
        listed = await stores[0].conversations()
    finally:
        for worker in workers:
            await worker.dispose()

    assert len({record.id for record in records}) == 1
    assert [c.key for c in listed] == [ALICE]


async def test_exports_read_every_event_since_a_time(database: Database, clock: FakeClock) -> None:
    store = ConversationStore(database, clock=clock)
    await store.append_event(ALICE, EventKind.USER_MESSAGE, text="yesterday")
    clock.advance(days=1)
    start = clock.now
    await store.append_event(BOB, EventKind.USER_MESSAGE, text="today, bob")
    clock.advance(minutes=1)
    await store.append_event(ALICE, EventKind.BOT_REPLY, text="today, alice")
    await store.append_event(ALICE, EventKind.CSAT, payload={"score": 5})

    rows = await store.all_events(since=start)
    replies = await store.all_events(kinds=[EventKind.BOT_REPLY])
    active = await store.conversations(since=start + timedelta(seconds=30))

    assert [(c.key, e.text) for c, e in rows] == [
        (BOB, "today, bob"),
        (ALICE, "today, alice"),
        (ALICE, None),
    ]
    assert rows[1][0] is rows[2][0]  # one record per conversation, shared
    assert [e.text for _, e in replies] == ["today, alice"]
    assert [c.key for c in active] == [ALICE]


async def test_naive_datetimes_are_refused(store: ConversationStore) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.all_events(since=datetime(2025, 1, 1))


@pytest.mark.parametrize(
    "url",
    [
        "not a database url",
        "nosuchdb+nodriver://user@127.0.0.1/kefu",
        "sqlite:///kefu.db",  # a synchronous driver cannot serve the async engine
    ],
)
def test_an_unusable_database_url_raises_storage_error(url: str) -> None:
    with pytest.raises(StorageError) as raised:
        Database(url)

    assert raised.value.__cause__ is not None


async def test_an_unreachable_database_raises_storage_error_without_the_password() -> None:
    database = Database("postgresql+asyncpg://kefu:s3cret-pw@127.0.0.1:9/kefu")
    store = ConversationStore(database)
    try:
        with pytest.raises(StorageError) as on_upgrade:
            await database.upgrade()
        with pytest.raises(StorageError) as on_append:
            await store.append_event(ALICE, EventKind.USER_MESSAGE, text="hi")
    finally:
        await database.dispose()

    assert on_upgrade.value.__cause__ is not None
    assert on_append.value.__cause__ is not None
    assert "s3cret-pw" not in str(on_upgrade.value)


async def test_a_sqlite_path_that_cannot_be_created_raises_storage_error(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")

    with pytest.raises(StorageError):
        Database(f"sqlite+aiosqlite:///{blocker / 'kefu.db'}")
