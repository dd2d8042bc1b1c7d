"""A message that asks two things is split into its questions; one question stays whole."""

from __future__ import annotations

import pytest

from bot.dialogue.questions import asked_for, separate_questions


@pytest.mark.parametrize(
    ("message", "questions"),
    [
        ("我想问下手表保修多长时间，另外能开发票吗", ["我想问下手表保修多长时间", "能开发票吗"]),
        ("退货要几天？运费谁出？", ["退货要几天？", "运费谁出？"]),
        ("什么时候发货，还有运费多少", ["什么时候发货", "运费多少"]),
        (
            "How long is the warranty on a watch, and can I get an invoice?",
            ["How long is the warranty on a watch", "can I get an invoice?"],
        ),
        (
            "Do you ship to Singapore? Also, how much is shipping?",
            ["Do you ship to Singapore?", "how much is shipping?"],
        ),
    ],
)
def test_each_question_of_a_message_is_found(message: str, questions: list[str]) -> None:
    assert separate_questions(message) == questions


@pytest.mark.parametrize(
    "message",
    [
        "我的耳机坏了，另外包装也破了，能退吗",  # the first part tells, it does not ask
        "can I return it and get a refund?",
        "what is the difference between Care+ and what the normal warranty covers?",
        "Is it waterproof?? really?",  # "really?" cannot be answered on its own
        "还有别的颜色吗",
        "七天无理由退货从哪天开始算",
    ],
)
def test_one_question_stays_whole(message: str) -> None:
    assert separate_questions(message) == [message]


@pytest.mark.parametrize(
    ("question", "kinds"),
    [
        ("退款多久能到账", {"duration"}),
        ("How many days do I have to return an item?", {"duration"}),
        ("积分什么时候到账", {"time"}),
        ("运费多少钱", {"cost"}),
        ("where is the repair centre", {"place"}),
        ("怎么开发票", set()),
    ],
)
def test_what_kind_of_answer_a_question_wants(question: str, kinds: set[str]) -> None:
    assert asked_for(question) == kinds
