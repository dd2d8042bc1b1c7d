"""Asking for a human hands the conversation over, whatever the classifier thought."""

from __future__ import annotations

from bot.app import Kefu
from bot.pipeline.handoff import Escalation, HumanRelay
from tests.bot.pipeline.steps import make_turn, run


async def test_asking_for_a_human_escalates_and_later_messages_go_to_the_queue(
    kefu: Kefu,
) -> None:
    replies, later = await run(Escalation(kefu.handoff), make_turn("转人工"))
    assert later.reached == [] and replies
    assert await kefu.handoff.queue.open_for(make_turn("x").key) is not None
    _, later = await run(HumanRelay(kefu.handoff), make_turn("还在吗"))
    assert later.reached == []


async def test_a_question_with_no_human_involved_goes_on(kefu: Kefu) -> None:
    _, later = await run(HumanRelay(kefu.handoff), make_turn("保修多久"))
    assert len(later.reached) == 1
    _, later = await run(Escalation(kefu.handoff), make_turn("保修多久"))
    assert len(later.reached) == 1
