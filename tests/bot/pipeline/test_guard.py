"""A message the bot cannot read is answered at once, in the customer's language."""

from __future__ import annotations

from bot.pipeline.guard import MessageGuard
from tests.bot.pipeline.steps import LATER, make_turn, run


async def test_an_empty_message_asks_for_a_question_and_stops_the_turn() -> None:
    replies, later = await run(MessageGuard(100), make_turn("   ", language="zh"))
    assert "请输入" in replies[0].text
    assert later.reached == []


async def test_an_attachment_alone_asks_for_words() -> None:
    replies, _ = await run(MessageGuard(100), make_turn("", language="en", parts=("photo",)))
    assert "only read text" in replies[0].text
    assert replies[0].custom["answer_kind"] == "refusal"


async def test_an_over_long_message_says_the_limit() -> None:
    replies, later = await run(MessageGuard(10), make_turn("how long is the warranty?"))
    assert "10 characters" in replies[0].text
    assert later.reached == []


async def test_a_readable_message_goes_on() -> None:
    replies, later = await run(MessageGuard(100), make_turn("保修多久"))
    assert [r.text for r in replies] == [LATER]
    assert later.reached[0].text == "保修多久"
