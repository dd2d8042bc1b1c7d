"""Dialogue actions answer questions about the customer's own order; policy questions pass
to the knowledge base even when they mention orders."""

from __future__ import annotations

from bot.app import Kefu
from bot.pipeline import Turn
from bot.pipeline.dialogue import DialogueStep
from bot.pipeline.understand import Understand
from tests.bot.pipeline.steps import Later, make_turn, run


async def understood(kefu: Kefu, text: str) -> Turn:
    assert kefu.understander is not None
    step = Understand(kefu.understander, kefu.store, kefu.settings.dialogue)
    _, later = await run(step, make_turn(text))
    return later.reached[0]


def dialogue(kefu: Kefu) -> DialogueStep:
    actions = kefu._dialogue_actions()
    assert actions is not None
    return DialogueStep(actions)


async def test_an_order_number_is_looked_up(kefu: Kefu) -> None:
    turn = await understood(kefu, "帮我查一下订单DD20241101")
    [reply], later = await run(dialogue(kefu), turn)
    assert "DD20241101" in reply.text and later.reached == []


async def test_a_refund_policy_question_goes_to_the_knowledge_base(kefu: Kefu) -> None:
    turn = await understood(kefu, "退款到支付宝一般要几天")
    _, later = await run(dialogue(kefu), turn, Later())
    assert later.reached == [turn]
