"""Deterministic train/validation/test splits that never separate near-duplicate questions.

Near-duplicate questions ("如何退货？" / "如何退货呢") form one group, and a group goes to one
split whole, so a test question is never a reworded training question. Groups are ordered
canonically, shuffled with the seed, and dealt to the split furthest below its target size:
the same examples and seed give the same split, whatever order the examples came in.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from typing import TypeVar

from bot.feedback.clustering import near_duplicate_groups, normalise

SPLITS = ("train", "validation", "test")
T = TypeVar("T")


def parse_ratios(text: str) -> tuple[float, float, float]:
    """``"0.8,0.1,0.1"`` -> ``(0.8, 0.1, 0.1)``.

    Raises:
        ValueError: unless there are three non-negative numbers summing to 1.
    """
    try:
        ratios = tuple(float(part) for part in text.split(","))
    except ValueError as error:
        raise ValueError(f"split must be three numbers like 0.8,0.1,0.1, not {text!r}") from error
    if len(ratios) != 3 or any(r < 0 for r in ratios) or abs(sum(ratios) - 1.0) > 1e-6:
        raise ValueError(f"split must be three non-negative numbers summing to 1, not {text!r}")
    return ratios[0], ratios[1], ratios[2]


def split_by_group(
    items: Sequence[T],
    questions: Sequence[str],
    ratios: tuple[float, float, float],
    *,
    seed: int,
    threshold: float,
) -> tuple[dict[str, list[T]], int]:
    """Deals ``items`` into train/validation/test.

    Args:
        items: what to split (e.g. examples).
        questions: each item's question, for near-duplicate grouping.
        ratios: target shares of train, validation and test.
        seed: the same seed gives the same split.
        threshold: character n-gram Jaccard similarity that makes two questions one group.

    Returns:
        The items per split (in a canonical order), and how many groups there were.
    """
    labels = near_duplicate_groups(questions, threshold)
    groups: defaultdict[int, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        groups[label].append(index)

    # Canonical order first, so the input order cannot change the result.
    def canonical(i: int) -> tuple[str, str]:
        return normalise(questions[i]), questions[i]

    members = sorted(
        (sorted(indexes, key=canonical) for indexes in groups.values()),
        key=lambda indexes: [canonical(i) for i in indexes],
    )
    random.Random(seed).shuffle(members)
    targets = [ratio * len(items) for ratio in ratios]
    filled = [0, 0, 0]
    dealt: dict[str, list[int]] = {name: [] for name in SPLITS}
    for group in members:
        deficits = [(targets[i] - filled[i]) if targets[i] > 0 else float("-inf") for i in range(3)]
        chosen = max(range(3), key=lambda i: (deficits[i], -i))
        filled[chosen] += len(group)
        dealt[SPLITS[chosen]].extend(group)
    ordered = {
        name: [items[i] for i in sorted(indexes, key=lambda i: (*canonical(i), i))]
        for name, indexes in dealt.items()
    }
    return ordered, len(members)
