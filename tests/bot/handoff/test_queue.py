"""The queue in the database: one winner per claim, one open handoff per conversation,
and nothing lost when the process restarts."""

from __future__ import annotations

import asyncio

from bot.handoff.agents import AgentDirectory
from bot.handoff.queue import HandoffQueue
from core.storage import ConversationStore, Database
from core.types import ConversationKey

KEY = ConversationKey("rest", "carol", "carol")
WORKERS = 6


async def test_concurrent_claims_have_exactly_one_winner(any_database_url: str) -> None:
    # Each agent's claim comes from its own engine, like agents served by different workers.
    databases = [Database(any_database_url) for _ in range(WORKERS)]
    try:
        await databases[0].upgrade()
        await ConversationStore(databases[0]).get_or_create(KEY)
        handoff, _ = await HandoffQueue(databases[0]).enqueue(
            KEY, reason="customer_request", priority=0, language="zh", summary={}
        )
        agents = [
            await AgentDirectory(databases[0]).add(f"agent{i}", token=f"kefu_t{i}")
            for i in range(WORKERS)
        ]
        results = await asyncio.gather(
            *(
                HandoffQueue(db).claim(handoff.id, agent.id)
                for db, agent in zip(databases, agents, strict=True)
            )
        )
        winners = [r for r in results if r is not None]
        assert len(winners) == 1
        stored = await HandoffQueue(databases[0]).get(handoff.id)
        assert stored is not None
        assert stored.state == "assigned"
        assert stored.agent_id == winners[0].agent_id
        conversation = await ConversationStore(databases[0]).get(KEY)
        assert conversation is not None and conversation.status == "assigned"
    finally:
        for db in databases:
            await db.dispose()


async def test_concurrent_escalations_open_one_handoff(any_database_url: str) -> None:
    databases = [Database(any_database_url) for _ in range(3)]
    try:
        await databases[0].upgrade()
        await ConversationStore(databases[0]).get_or_create(KEY)
        results = await asyncio.gather(
            *(
                HandoffQueue(db).enqueue(
                    KEY, reason="customer_request", priority=0, language="en", summary={}
                )
                for db in databases
            )
        )
        assert sum(created for _, created in results) == 1
        assert len({record.id for record, _ in results}) == 1
        assert len(await HandoffQueue(databases[0]).waiting()) == 1
    finally:
        for db in databases:
            await db.dispose()


async def test_queue_order_is_priority_then_age(database: Database) -> None:
    store, queue = ConversationStore(database), HandoffQueue(database)
    keys = [ConversationKey("rest", name, name) for name in ("first", "second", "urgent")]
    for key, priority in zip(keys, (0, 0, 1), strict=True):
        await store.get_or_create(key)
        await queue.enqueue(key, reason="r", priority=priority, language="en", summary={})
    waiting = await queue.waiting()
    assert [h.key.chat_id for h in waiting] == ["urgent", "first", "second"]
    assert [await queue.position(h) for h in waiting] == [1, 2, 3]


async def test_waiting_conversation_survives_a_restart(database: Database) -> None:
    await ConversationStore(database).get_or_create(KEY)
    await HandoffQueue(database).enqueue(
        KEY, reason="customer_request", priority=0, language="zh", summary={"reason": "x"}
    )
    await database.dispose()

    reopened = Database(database.url)
    try:
        await reopened.upgrade()
        [waiting] = await HandoffQueue(reopened).waiting()
        assert waiting.key == KEY
        assert waiting.summary == {"reason": "x"}
    finally:
        await reopened.dispose()
