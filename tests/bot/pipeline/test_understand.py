"""What the understanding step finds is logged and given to the steps after it."""

from __future__ import annotations

from bot.app import Kefu
from bot.pipeline.understand import Understand
from core.events import EventKind
from tests.bot.pipeline.steps import KEY, make_turn, run


async def test_the_intent_reaches_the_later_steps_and_the_log(kefu: Kefu) -> None:
    assert kefu.understander is not None
    step = Understand(kefu.understander, kefu.store, kefu.settings.dialogue)
    _, later = await run(step, make_turn("我的订单DD20241101到哪了"))
    understood = later.reached[0].understood
    assert understood is not None and understood.intent == "order_status"
    assert understood.entities.to_json()
    [event] = await kefu.store.events(KEY, kinds=[EventKind.UNDERSTANDING])
    assert event.payload["intent"] == "order_status"
