"""Multi-turn slot filling: ask, fill, expire, change topic, give up."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.dialogue.entities import extract_entities
from bot.dialogue.intent_catalog import IntentPrediction
from bot.dialogue.slots import FRAME_KEY, SlotDecision, SlotOutcome, advance

REQUIRED = {"order_status": ("order_no",), "refund_request": ("order_no",)}
TTL = timedelta(minutes=30)
START = datetime(2024, 11, 12, 9, 0, tzinfo=UTC)


def intent(name: str | None, confidence: float = 0.95) -> IntentPrediction:
    return IntentPrediction(name, confidence, ((name or "order_status", confidence),))


def turn(
    state: dict[str, Any], prediction: IntentPrediction, text: str, at: datetime
) -> SlotDecision:
    decision = advance(state, prediction, extract_entities(text), at, TTL, required_slots=REQUIRED)
    # What the session store does between turns: the state must survive JSON.
    json.loads(json.dumps(decision.state))
    return decision


def test_the_bot_asks_for_the_order_number_and_answers_once_it_comes() -> None:
    asked = turn({"lang": "zh"}, intent("order_status"), "我的订单到哪了", START)

    assert asked.outcome is SlotOutcome.ASK
    assert asked.slot == "order_no"
    assert "订单号" in (asked.prompt("zh") or "")
    assert "order number" in (asked.prompt("en") or "")
    assert asked.state["lang"] == "zh", "other session state is kept"
    assert FRAME_KEY in asked.state

    # "DD20241101" alone: the classifier may think anything, even another intent.
    done = turn(
        asked.state, intent("refund_request", 0.97), "DD20241101", START + timedelta(minutes=2)
    )

    assert done.outcome is SlotOutcome.COMPLETE
    assert done.intent == "order_status"
    assert done.values == {"order_no": "DD20241101"}
    assert FRAME_KEY not in done.state
    assert done.state["lang"] == "zh"


def test_a_request_that_already_has_the_number_is_complete_at_once() -> None:
    decision = turn({}, intent("order_status"), "where is DD20241101?", START)

    assert decision.outcome is SlotOutcome.COMPLETE
    assert decision.values == {"order_no": "DD20241101"}
    assert FRAME_KEY not in decision.state


def test_an_intent_without_slots_needs_no_frame() -> None:
    decision = turn({}, intent("greeting"), "你好", START)

    assert decision.outcome is SlotOutcome.NONE
    assert decision.state == {}


def test_an_out_of_scope_answer_is_asked_again() -> None:
    asked = turn({}, intent("order_status"), "where is my order", START)

    again = turn(
        asked.state, intent(None, 0.2), "I don't remember it", START + timedelta(minutes=1)
    )

    assert again.outcome is SlotOutcome.ASK
    assert again.slot == "order_no"
    assert FRAME_KEY in again.state


def test_a_frame_expires_after_the_ttl() -> None:
    asked = turn({}, intent("order_status"), "where is my order", START)

    late = turn(asked.state, intent(None, 0.2), "DD20241101", START + TTL + timedelta(seconds=1))

    assert late.expired is True
    assert late.outcome is SlotOutcome.NONE, "the stale question is not answered out of the blue"
    assert FRAME_KEY not in late.state


def test_the_ttl_counts_from_the_last_answer_not_the_first_question() -> None:
    required = {"order_status": ("order_no", "phone")}
    state: dict[str, Any] = {}
    first = advance(
        state,
        intent("order_status"),
        extract_entities("查订单"),
        START,
        TTL,
        required_slots=required,
    )
    second = advance(
        first.state,
        intent(None, 0.1),
        extract_entities("DD20241101"),
        START + timedelta(minutes=25),
        TTL,
        required_slots=required,
    )
    third = advance(
        second.state,
        intent(None, 0.1),
        extract_entities("13812345678"),
        START + timedelta(minutes=50),
        TTL,
        required_slots=required,
    )

    assert second.outcome is SlotOutcome.ASK and second.slot == "phone"
    assert third.outcome is SlotOutcome.COMPLETE
    assert third.values == {"order_no": "DD20241101", "phone": "13812345678"}


def test_the_customer_can_change_topic_while_the_bot_waits() -> None:
    asked = turn({}, intent("order_status"), "我的订单到哪了", START)

    moved_on = turn(asked.state, intent("recommend_product"), "算了，推荐一款耳机吧", START)

    assert moved_on.topic_changed is True
    assert moved_on.outcome is SlotOutcome.NONE
    assert moved_on.intent == "recommend_product"
    assert FRAME_KEY not in moved_on.state


def test_a_new_request_with_its_own_number_replaces_the_waiting_one() -> None:
    asked = turn({}, intent("order_status"), "我的订单到哪了", START)

    refund = turn(asked.state, intent("refund_request", 0.96), "我要退款 DD20241102", START)

    assert refund.topic_changed is True
    assert refund.outcome is SlotOutcome.COMPLETE
    assert refund.intent == "refund_request"
    assert refund.values == {"order_no": "DD20241102"}


def test_an_unsure_other_intent_with_the_number_still_answers_the_question() -> None:
    asked = turn({}, intent("order_status"), "我的订单到哪了", START)

    answer = turn(asked.state, intent("refund_request", 0.6), "好像是 DD20241101 这个单子", START)

    assert answer.topic_changed is False
    assert answer.outcome is SlotOutcome.COMPLETE
    assert answer.intent == "order_status"


def test_the_bot_gives_up_after_asking_three_times() -> None:
    state = turn({}, intent("order_status"), "where is my order", START).state
    outcomes = []
    for minute in range(1, 4):
        decision = turn(state, intent(None, 0.1), "no idea", START + timedelta(minutes=minute))
        outcomes.append(decision.outcome)
        state = decision.state

    assert outcomes == [SlotOutcome.ASK, SlotOutcome.ASK, SlotOutcome.GIVE_UP]
    assert FRAME_KEY not in state


def test_a_malformed_frame_in_the_state_is_ignored() -> None:
    decision = turn({FRAME_KEY: {"intent": "order_status"}}, intent("greeting"), "hi", START)

    assert decision.outcome is SlotOutcome.NONE
    assert FRAME_KEY not in decision.state
