"""Correcting a customer's English misspellings to the knowledge base's words."""

from __future__ import annotations

import pytest

from knowledge.spelling import Spelling

SHOP_WORDS = {
    "warranty": 4,
    "laptops": 2,
    "laptop": 3,
    "refund": 6,
    "address": 2,
    "delivery": 5,
    "replied": 1,
    "received": 3,
}


@pytest.mark.parametrize(
    ("question", "corrected"),
    [
        ("how long is the warrenty for laptps", "how long is the warranty for laptops"),
        ("I want a refnud", "I want a refund"),  # a swap of two letters is one edit
        ("my adress is wrong", "my address is wrong"),
        ("how long does delivary take?", "how long does delivery take?"),
        ("laptp", "laptop"),  # five letters: one edit is allowed
        ("Warrenty for laptops?", "Warranty for laptops?"),
    ],
)
def test_misspelt_words_become_the_knowledge_bases_words(question: str, corrected: str) -> None:
    assert Spelling(SHOP_WORDS).correct(question) == corrected


@pytest.mark.parametrize(
    "question",
    [
        "can you help me write an essay",  # a real word the knowledge base lacks
        "delivery to guangzhou",  # a place name
        "the parcel wasnt in the box",  # "wasn't" without its apostrophe, not "want"
        "it doesn't work",
        "show me unreplied mails",  # not "replied": a slip is rarely in the first letter
        "the list retreived by the search",  # English reads "retrieved", not "received"
        "lapt",  # four letters: too short to guess
        "退款要多久",
    ],
)
def test_real_words_names_and_chinese_are_left_alone(question: str) -> None:
    assert Spelling(SHOP_WORDS).correct(question) == question


def test_a_word_two_edits_away_is_corrected_only_when_it_is_long() -> None:
    spelling = Spelling({"warranty": 1, "receipt": 1, "order": 1})
    assert spelling.correct("warrenti") == "warranty"  # eight letters, two edits
    assert spelling.correct("ordxx") == "ordxx"  # five letters, two edits: a guess too far


ZH_WORDS = {
    "理由": 3,
    "无理由": 4,
    "退款": 6,
    "到账": 2,
    "保修": 5,
    "公司": 2,
    "成功": 1,
    "发票": 4,
    "老师": 1,
    "脸上": 1,
    "包邮": 2,  # a shopping word jieba's dictionary lacks (knowledge/shop_words.txt)
}


@pytest.mark.parametrize(
    ("question", "corrected"),
    [
        ("七天无里由退货是真的吗", "七天无理由退货是真的吗"),
        ("退宽几天到帐", "退款几天到账"),
        ("保休多久", "保修多久"),
        ("发漂怎么开", "发票怎么开"),
        ("满多少包油", "满多少包邮"),
    ],
)
def test_chinese_slips_become_the_words_they_sound_like(question: str, corrected: str) -> None:
    assert Spelling(ZH_WORDS).correct(question) == corrected


@pytest.mark.parametrize(
    "question",
    [
        "能改成公司的吗",  # 成公 sounds like 成功, but jieba reads 改成 and 公司
        "退款到账了吗",
        "保修期内免费",
        "电脑为什么老是自动关机",  # 老 and 是 are two common words, not a slip for 老师
        "手机可以连上",
    ],
)
def test_chinese_words_are_left_alone(question: str) -> None:
    assert Spelling(ZH_WORDS).correct(question) == question
