"""The reply language: decided once from the message, carried on the replies."""

from __future__ import annotations

from dataclasses import replace

from bot.adapters.console.convert import render
from core.text import turn_language
from core.types import Citation, OutgoingMessage

ANSWER = OutgoingMessage(
    "Returns are free within 7 days. 七天无理由退货。",
    citations=(Citation(source="faq.csv", title="Returns"),),
)


def test_the_console_labels_sources_in_the_messages_language() -> None:
    assert "[来源: Returns]" in render(replace(ANSWER, language="zh"))
    assert "[Sources: Returns]" in render(replace(ANSWER, language="en"))


def test_the_text_decides_between_chinese_and_english() -> None:
    assert turn_language("我的订单到哪了") == "zh"
    assert turn_language("where is my order") == "en"


def test_a_bare_order_number_keeps_the_previous_language() -> None:
    assert turn_language("DD20241101", previous="我的订单到哪了") == "zh"


def test_a_platform_locale_names_a_catalog_language_the_text_cannot_show() -> None:
    available = ("en", "ja", "zh")
    assert turn_language("注文はどこ？", locale="ja", available=available) == "ja"
    assert turn_language("where is my order", locale="ja-JP", available=available) == "ja"
    assert turn_language("where is my order", locale="ja") == "en"  # no ja.yaml
    assert turn_language("我的订单", locale="en-US", available=available) == "zh"
    assert turn_language("12345", locale="zh-hans", available=available) == "zh"
