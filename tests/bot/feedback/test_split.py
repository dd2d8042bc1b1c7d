"""Splits are deterministic and never put near-duplicate questions on both sides."""

from __future__ import annotations

import random

import pytest

from bot.feedback.clustering import near_duplicate_groups
from bot.feedback.split import parse_ratios, split_by_group

ZH_TOPICS = ["如何申请退货", "发票怎么开", "保修期多久", "支持哪些支付方式", "多久能发货"]
EN_TOPICS = [
    "How do I reset my password",
    "Do you ship to Canada",
    "Where is my parcel",
    "Can I cancel my order",
]
ZH_VARIANTS = ["{}", "{}？", "请问{}", "{}呢", "你好，{}"]
EN_VARIANTS = ["{}", "{}?", "{} please", "hi, {}", "{}??"]
REWORDED = {t: ZH_VARIANTS for t in ZH_TOPICS} | {t: EN_VARIANTS for t in EN_TOPICS}


def questions() -> list[str]:
    items = [v.format(t) for t, variants in REWORDED.items() for v in variants]
    words = ["tablet", "charger", "refund", "coupon", "invoice", "screen", "battery", "cable"]
    rng = random.Random(0)
    items += [" ".join(rng.sample(words, 4)) + f" {i}" for i in range(40)]
    return items


def test_the_same_seed_gives_the_same_split_whatever_the_input_order() -> None:
    items = questions()
    shuffled = items[:]
    random.Random(5).shuffle(shuffled)

    first, _ = split_by_group(items, items, (0.8, 0.1, 0.1), seed=7, threshold=0.5)
    second, _ = split_by_group(shuffled, shuffled, (0.8, 0.1, 0.1), seed=7, threshold=0.5)
    other, _ = split_by_group(items, items, (0.8, 0.1, 0.1), seed=8, threshold=0.5)

    assert first == second
    assert first != other


def test_near_duplicate_questions_stay_in_one_split() -> None:
    items = questions()
    splits, groups = split_by_group(items, items, (0.6, 0.2, 0.2), seed=1, threshold=0.5)

    where = {q: name for name, qs in splits.items() for q in qs}
    for topic, variants in REWORDED.items():
        assert len({where[v.format(topic)] for v in variants}) == 1, topic
    assert len(REWORDED) + 20 < groups < len(items)
    assert sum(len(qs) for qs in splits.values()) == len(items)


def test_split_sizes_follow_the_ratios() -> None:
    items = [f"entirely different question {i} on subject {i * 13}" for i in range(100)]
    splits, _ = split_by_group(items, items, (0.8, 0.1, 0.1), seed=0, threshold=0.9)
    assert {name: len(qs) for name, qs in splits.items()} == {
        "train": 80,
        "validation": 10,
        "test": 10,
    }


def test_reworded_questions_are_grouped_and_different_ones_are_not() -> None:
    labels = near_duplicate_groups(["如何退货？", "如何退货呢", "发票怎么开"], 0.5)
    assert labels[0] == labels[1] != labels[2]


@pytest.mark.parametrize("text", ["0.8,0.2", "0.5,0.5,0.5", "a,b,c", "-0.1,0.6,0.5"])
def test_bad_split_ratios_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="split must be"):
        parse_ratios(text)
