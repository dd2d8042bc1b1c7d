"""Personal data never reaches an exported dataset."""

from __future__ import annotations

import pytest

from bot.feedback.redact import find_names, redact


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        ("我的手机是13812345678", "我的手机是[PHONE]", "phone"),
        ("call +86 138 1234 5678 now", "call [PHONE] now", "phone"),
        ("or +44 20 7946 0958", "or [PHONE]", "phone"),
        ("mail zhang.san@example.com.cn", "mail [EMAIL]", "email"),
        ("订单DD20250301还没到", "订单[ORDER]还没到", "order"),
        ("order dd12345678 is late", "order [ORDER] is late", "order"),
        ("身份证11010519491231002X", "身份证[ID]", "id_card"),
    ],
)
def test_each_kind_is_replaced_and_counted(text: str, expected: str, kind: str) -> None:
    result = redact([text])
    assert result.texts == [expected]
    assert dict(result.counts) == {kind: 1}


def test_company_hotlines_and_ordinary_numbers_stay() -> None:
    text = "Call our hotline 400-820-8820; the TV is 55 inches and costs 3999 yuan."
    assert redact([text]).texts == [text]


def test_a_name_introduced_once_is_removed_from_every_turn() -> None:
    result = redact(["我叫张三想问一下退货", "张三您好，可以退货。"])
    assert result.texts == ["我叫[NAME]想问一下退货", "[NAME]您好，可以退货。"]
    assert result.counts["name"] == 2


def test_english_self_introductions_and_display_names_are_names() -> None:
    assert find_names(["Hi, my name is Anna Li and I need help"]) == {"Anna Li"}
    result = redact(["thanks Bob, and tell anna li hi"], names=["Bob", "Anna Li"])
    assert result.texts == ["thanks [NAME], and tell [NAME] hi"]


def test_short_display_names_do_not_eat_ordinary_words() -> None:
    assert redact(["a phone"], names=["a"]).texts == ["a phone"]
