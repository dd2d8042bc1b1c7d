"""The pipeline runs its steps in the order it is given, decides the turn's facts once and
keeps every reply in the event log; a broken step costs the customer one apology, not the
conversation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.pipeline import Pipeline, Proceed, Replies, Turn
from core.events import EventKind
from core.storage import ConversationStore, Database
from core.types import ConversationKey, IncomingMessage, OutgoingMessage
from tests.bot.pipeline.steps import KEY


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[ConversationStore]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'kefu.db'}")
    await database.upgrade()
    try:
        yield ConversationStore(database)
    finally:
        await database.dispose()


class Answers:
    """A step that answers with its name (and remembers the turns it saw)."""

    def __init__(self, name: str, when: str = "") -> None:
        self.name, self.when, self.seen = name, when, list[Turn]()

    async def __call__(self, turn: Turn, proceed: Proceed) -> Replies:
        self.seen.append(turn)
        if self.when in turn.text:
            return [OutgoingMessage(f"{self.name} ({turn.language})")]
        return await proceed(turn)


class Breaks:
    async def __call__(self, turn: Turn, proceed: Proceed) -> Replies:
        raise RuntimeError("a bug in a step")


def message(text: str, message_id: str = "m1", key: ConversationKey = KEY) -> IncomingMessage:
    return IncomingMessage(message_id, key, text)


async def test_the_first_step_that_answers_ends_the_turn(store: ConversationStore) -> None:
    orders, faq = Answers("orders", when="DD"), Answers("faq")
    pipeline = Pipeline(store, [orders, faq], lambda key: False)
    assert [r.text for r in await pipeline.handle(message("DD20241101"))] == ["orders (en)"]
    assert faq.seen == []
    assert [r.text for r in await pipeline.handle(message("warranty?", "m2"))] == ["faq (en)"]


async def test_a_reordered_list_changes_who_answers(store: ConversationStore) -> None:
    orders, faq = Answers("orders", when="DD"), Answers("faq")
    pipeline = Pipeline(store, [faq, orders], lambda key: False)
    assert [r.text for r in await pipeline.handle(message("DD20241101"))] == ["faq (en)"]


async def test_replies_are_logged_with_the_id_receipts_use(store: ConversationStore) -> None:
    pipeline = Pipeline(store, [Answers("faq")], lambda key: False)
    [reply] = await pipeline.handle(message("warranty?"))
    events = await store.events(KEY)
    assert [e.kind for e in events] == [EventKind.USER_MESSAGE, EventKind.BOT_REPLY]
    assert events[1].payload["reply_id"] == reply.custom["reply_id"]


async def test_the_language_of_a_bare_order_number_is_the_customers(
    store: ConversationStore,
) -> None:
    pipeline = Pipeline(store, [Answers("faq")], lambda key: False)
    await pipeline.handle(message("我的订单到哪了"))
    [reply] = await pipeline.handle(message("DD20241101", "m2"))
    assert reply.text == "faq (zh)"


async def test_admin_is_decided_by_the_given_rule_once_per_turn(
    store: ConversationStore,
) -> None:
    step = Answers("any")
    admins = {"boss"}
    pipeline = Pipeline(store, [step], lambda key: key.user_id in admins)
    await pipeline.handle(message("/kb reload", key=ConversationKey("rest", "boss", "boss")))
    await pipeline.handle(message("/kb reload", "m2"))
    assert [turn.is_admin for turn in step.seen] == [True, False]


async def test_a_broken_step_is_one_apology_and_the_next_message_is_answered(
    store: ConversationStore,
) -> None:
    pipeline = Pipeline(store, [Answers("orders", when="DD"), Breaks()], lambda key: False)
    [apology] = await pipeline.handle(message("退货要多久"))
    assert apology.custom["answer_kind"] == "error" and "抱歉" in apology.text
    assert [r.text for r in await pipeline.handle(message("DD20241101", "m2"))] == ["orders (zh)"]
    kinds = [e.kind for e in await store.events(KEY)]
    assert kinds.count(EventKind.USER_MESSAGE) == 2 and kinds.count(EventKind.BOT_REPLY) == 2
