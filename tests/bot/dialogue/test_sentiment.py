"""Frustration per message, Chinese and English."""

from __future__ import annotations

import pytest

from bot.dialogue.sentiment import score_sentiment


@pytest.mark.parametrize(
    "text",
    [
        "你们这什么破服务！！！",
        "this is useless, I've asked three times",
        "WHERE IS MY ORDER???",
        "我对这次购物非常不满意",
        "垃圾客服，气死我了",
        "this is the worst, I want a human NOW",
        "到底什么时候发货？？",
        "你们的服务太烂了",
        "客服真烂",
    ],
)
def test_frustrated_customers_are_flagged(text: str) -> None:
    sentiment = score_sentiment(text)

    assert sentiment.frustrated is True
    assert -1.0 <= sentiment.score <= -0.5
    assert sentiment.cues


@pytest.mark.parametrize(
    "text",
    ["我的订单到哪了", "where is my order", "hello", "我要退款", "how long is the warranty?"],
)
def test_plain_requests_are_neutral(text: str) -> None:
    sentiment = score_sentiment(text)

    assert sentiment.frustrated is False
    assert sentiment.score == 0.0


@pytest.mark.parametrize(
    "text", ["谢谢，问题解决了", "thanks!!!", "great, that was helpful", "不错，很满意"]
)
def test_happy_customers_score_positive(text: str) -> None:
    sentiment = score_sentiment(text)

    assert sentiment.score > 0.3
    assert sentiment.frustrated is False


@pytest.mark.parametrize("text", ["not helpful at all", "我不满意", "you were not helpful"])
def test_negation_turns_praise_into_complaint(text: str) -> None:
    assert score_sentiment(text).score < 0


def test_one_exclamation_mark_is_not_frustration() -> None:
    assert score_sentiment("Where is my order!").frustrated is False


def test_the_threshold_is_configurable() -> None:
    text = "a bit disappointed"

    assert score_sentiment(text).frustrated is True
    assert score_sentiment(text, frustration_threshold=-0.9).frustrated is False


@pytest.mark.parametrize(
    "text",
    [
        "I typed the wrong password too many times and now I'm blocked",
        "我又想再买一个同款",
        "Can I order again with the same address?",
    ],
)
def test_one_impatience_cue_alone_is_not_a_negative_tone(text: str) -> None:
    # a negative tone lets a question read as a complaint go to a human; these ask for help
    assert score_sentiment(text).score == 0.0


@pytest.mark.parametrize(
    "text", ["快递盒子都烂了，里面东西摔坏了咋办", "屏幕摔烂了能修吗", "the box was broken"]
)
def test_a_damaged_parcel_described_is_not_frustration(text: str) -> None:
    # the customer describes the goods; handing them to a human would skip the answer
    assert score_sentiment(text).frustrated is False
