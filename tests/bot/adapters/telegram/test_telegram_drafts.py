"""Generated answers shown while they are written: sendMessageDraft in private chats."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from tests.bot.adapters.telegram.conftest import SECRET, Running
from tests.fakes.pipeline import ScriptedPipeline
from tests.fakes.telegram import BOT_USERNAME, FakeTelegram, message_update, visible_text

Start = Callable[..., AbstractAsyncContextManager[Running]]


async def test_private_chat_sees_the_answer_grow_then_gets_the_final_message(
    fake: FakeTelegram, running: Start
) -> None:
    async with running(draft_interval_s=0.1) as (_, url):
        update = message_update(1, chat_id=42, user_id=42, text="stream one two three four")
        assert await fake.post_webhook(url, update, SECRET) == 200
        [final] = await fake.wait_for("sendMessage")
    drafts = fake.calls_to("sendMessageDraft")
    assert len(drafts) >= 2
    assert {d["draft_id"] for d in drafts} == {drafts[0]["draft_id"]}  # one animated draft
    texts = [d["text"] for d in drafts]
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(texts))
    assert "Answer to: stream one two three four".startswith(texts[-1].strip())
    assert visible_text(final["text"]).startswith("Answer to: stream one two three four")
    assert fake.refused() == []


async def test_group_chats_get_the_answer_whole(
    fake: FakeTelegram, running: Start, pipeline: ScriptedPipeline
) -> None:
    async with running() as (_, url):
        update = message_update(
            1,
            chat_id=-100300,
            user_id=5,
            text=f"@{BOT_USERNAME} stream where is my parcel?",
            chat_type="supergroup",
            message_id=3,
            entities=[{"type": "mention", "offset": 0, "length": len(BOT_USERNAME) + 1}],
        )
        await fake.post_webhook(url, update, SECRET)
        await fake.wait_for("sendMessage")
    assert pipeline.streamed_to == [False]
    assert fake.calls_to("sendMessageDraft") == []


async def test_bot_api_without_drafts_still_delivers_the_answer(
    fake: FakeTelegram, running: Start
) -> None:
    fake.refuse_drafts = True
    async with running(draft_interval_s=0.1) as (_, url):
        update = message_update(1, chat_id=43, user_id=43, text="stream alpha beta gamma")
        await fake.post_webhook(url, update, SECRET)
        [final] = await fake.wait_for("sendMessage")
    assert len(fake.calls_to("sendMessageDraft")) == 1  # refused once, then not tried again
    assert visible_text(final["text"]).startswith("Answer to: stream alpha beta gamma")


async def test_drafts_can_be_switched_off(
    fake: FakeTelegram, running: Start, pipeline: ScriptedPipeline
) -> None:
    async with running(stream_drafts=False) as (_, url):
        update = message_update(1, chat_id=44, user_id=44, text="stream x y")
        await fake.post_webhook(url, update, SECRET)
        await fake.wait_for("sendMessage")
    assert pipeline.streamed_to == [False]
    assert fake.calls_to("sendMessageDraft") == []
