"""The escalation, cancel and rating rules, and business hours."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from bot.handoff.hours import is_open
from bot.handoff.records import Reason
from bot.handoff.texts import wait_minutes
from bot.handoff.triggers import asks_for_human, escalation_reason, is_cancel, parse_rating
from core.config.handoff import BusinessHours, HandoffSettings, HandoffTriggers

TRIGGERS = HandoffTriggers()
CANCEL = HandoffSettings().cancel_words


@pytest.mark.parametrize(
    "text",
    [
        "转人工",
        "人工",
        "人工客服！",
        "我要转人工，你说的不对",
        "human",
        "Agent",
        "I want to talk to a human please",
        "Can I speak with an agent?",
        "REAL PERSON",
        "Talk to a human",  # the bot's button title, typed
        "我要人工客服，几点能接通",  # asks when, but also to be put through
        "what time is it now? I want to talk to a human",
    ],
)
def test_requests_for_a_person_are_recognised(text: str) -> None:
    assert asks_for_human(text, TRIGGERS)


@pytest.mark.parametrize(
    "text",
    [
        "人工智能手表有保修吗",
        "my user agent is Firefox",
        "is the travel agent open",
        "不用转人工了",
        "I don't want to talk to a human",
        "human resources department address?",
        "",
        "人工客服晚上几点下线",  # about the service's hours: answered from the knowledge base
        "人工服务什么时候上班",
        "What time does a live agent start in the morning?",
        "when is a live agent available?",
    ],
)
def test_ordinary_questions_mentioning_the_words_are_not_requests(text: str) -> None:
    assert not asks_for_human(text, TRIGGERS)


@pytest.mark.parametrize(
    "text", ["算了", "取消", "Cancel", "never mind!", "取消转人工", "back to bot"]
)
def test_cancel_words_cancel(text: str) -> None:
    assert is_cancel(text, CANCEL)


@pytest.mark.parametrize("text", ["我要取消订单", "cancel my order", "how do I cancel?"])
def test_sentences_containing_a_cancel_word_do_not_cancel(text: str) -> None:
    assert not is_cancel(text, CANCEL)


@pytest.mark.parametrize(
    ("text", "score"),
    [("5", 5), ("１", 1), ("4分", 4), ("3 stars", 3), ("4/5", 4), ("★★", 2), (" 2。", 2)],
)
def test_ratings_are_read_in_the_usual_forms(text: str, score: int) -> None:
    assert parse_rating(text) == score


@pytest.mark.parametrize("text", ["6", "0", "12", "5 iphones", "thanks", ""])
def test_other_replies_are_not_ratings(text: str) -> None:
    assert parse_rating(text) is None


def reason(text: str = "what about my parcel", **kwargs: object) -> Reason | None:
    options: dict[str, object] = {"intent": None, "frustrated": False, "last_answers": ()}
    options.update(kwargs)
    triggers = options.pop("triggers", TRIGGERS)
    assert isinstance(triggers, HandoffTriggers)
    return escalation_reason(text, triggers, **options)  # type: ignore[arg-type]


def test_each_trigger_gives_its_reason() -> None:
    assert reason("转人工") is Reason.CUSTOMER_REQUEST
    assert reason(intent="complaint") is Reason.COMPLAINT
    assert reason(frustrated=True) is Reason.FRUSTRATION
    assert reason(last_answers=("faq", "dont_know", "error")) is Reason.FAILED_ANSWERS
    assert reason() is None


def test_one_failure_or_an_interrupted_streak_is_not_enough() -> None:
    assert reason(last_answers=("dont_know",)) is None
    assert reason(last_answers=("dont_know", "faq")) is None
    assert reason(last_answers=("dont_know", "handoff", "dont_know")) is None


def test_thanks_after_two_failures_is_not_escalated() -> None:
    assert reason("thanks", intent="thanks", last_answers=("dont_know", "dont_know")) is None


def test_every_trigger_can_be_switched_off() -> None:
    off = HandoffTriggers(
        customer_request=False, complaint=False, frustration=False, failed_answers=0
    )
    assert reason("转人工", triggers=off) is None
    assert reason(intent="complaint", triggers=off) is None
    assert reason(frustrated=True, triggers=off) is None
    assert reason(last_answers=("dont_know",) * 5, triggers=off) is None


def test_failed_answer_count_is_configurable() -> None:
    three = HandoffTriggers(failed_answers=3)
    assert reason(last_answers=("dont_know", "dont_know"), triggers=three) is None
    assert reason(last_answers=("error",) * 3, triggers=three) is Reason.FAILED_ANSWERS


def test_business_hours_in_the_configured_zone() -> None:
    weekdays = BusinessHours(days=[1, 2, 3, 4, 5], opens=time(9), closes=time(18))
    # Monday 2025-03-03 02:00 UTC is 10:00 in Shanghai.
    assert is_open(weekdays, datetime(2025, 3, 3, 2, 0, tzinfo=UTC))
    assert not is_open(weekdays, datetime(2025, 3, 3, 10, 0, tzinfo=UTC))  # 18:00 local
    assert not is_open(weekdays, datetime(2025, 3, 1, 2, 0, tzinfo=UTC))  # Saturday
    assert is_open(BusinessHours(always_open=True), datetime(2025, 3, 1, 20, tzinfo=UTC))


def test_night_shift_spans_midnight() -> None:
    night = BusinessHours(timezone="UTC", days=[1], opens=time(22), closes=time(6))
    assert is_open(night, datetime(2025, 3, 3, 23, 0, tzinfo=UTC))  # Monday night
    assert is_open(night, datetime(2025, 3, 4, 5, 0, tzinfo=UTC))  # still Monday's shift
    assert not is_open(night, datetime(2025, 3, 3, 5, 0, tzinfo=UTC))  # Sunday's shift: closed


def test_wait_estimate_shares_the_queue_between_agents() -> None:
    assert wait_minutes(position=3, agents_online=1, average_minutes=6) == 18
    assert wait_minutes(position=3, agents_online=2, average_minutes=6) == 9
    assert wait_minutes(position=1, agents_online=10, average_minutes=6) == 1
