"""Chinese counts compare equal however they are written; words made of numerals stay words."""

from __future__ import annotations

import pytest

from knowledge.folding import fold


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("七天无理由退货", "7天无理由退货"),
        ("保修两年吗", "保修2年吗"),
        ("十五天内", "15天内"),
        ("五千块的电脑分六个月", "5000块的电脑分6个月"),
        ("收到货第五天", "收到货第5天"),
        ("买二十台", "买20台"),
        ("ＳＴＯＲＥ Hours", "store hours"),
    ],
)
def test_a_count_is_written_in_digits(typed: str, folded: str) -> None:
    assert fold(typed) == folded


@pytest.mark.parametrize(
    "words",
    ["等一下", "一起买", "统一发货", "三星手机", "万一坏了", "一点都不好", "买一台", "十一月"],
)
def test_numerals_inside_words_or_as_an_article_are_left_alone(words: str) -> None:
    assert fold(words) == words
