"""👍 / 👎 go under knowledge answers only; a rating command is answered by this step."""

from __future__ import annotations

from bot.app import Kefu
from bot.pipeline.feedback import RatingButtons, RatingCommands
from core.types import OutgoingMessage
from tests.bot.pipeline.steps import Later, make_turn, run


async def test_only_knowledge_answers_get_rating_buttons(kefu: Kefu) -> None:
    faq = OutgoingMessage("保修一年", custom={"answer_kind": "faq"})
    prompt = OutgoingMessage("请提供订单号", custom={"answer_kind": "slot_prompt"})
    replies, _ = await run(
        RatingButtons(kefu.feedback), make_turn("保修多久"), Later(replies=[faq, prompt])
    )
    assert [b.title for b in replies[0].buttons] == ["👍 有帮助", "👎 没帮助"]
    assert replies[0].custom["answer_id"] == replies[0].custom["reply_id"]
    assert replies[1].buttons == ()


async def test_a_thumbs_up_with_nothing_to_rate_is_answered_here(kefu: Kefu) -> None:
    [reply], later = await run(RatingCommands(kefu.feedback), make_turn("👍", language="en"))
    assert later.reached == [] and reply.text
