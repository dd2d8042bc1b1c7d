"""Evaluation metrics: ROUGE (clipped and unclipped), BLEU, and classification scores.

The library results come from the well-kept implementations (``rouge-score``, ``sacrebleu``,
``scikit-learn``); what is ours is the tokenisation (Chinese is segmented with jieba, so a
Chinese answer is not one giant "word") and the unclipped ROUGE-N that the fine-tuning chapter
of the design seed explains next to the usual clipped one:

>>> rouge_n("It is cold outside.", "cold cold cold cold", 1, clipped=False).precision
1.0
>>> rouge_n("It is cold outside.", "cold cold cold cold", 1).precision
0.25
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)

RougeType = Literal["rouge1", "rouge2", "rougeL"]
ROUGE_TYPES: tuple[RougeType, ...] = ("rouge1", "rouge2", "rougeL")


@dataclass(slots=True, frozen=True)
class Score:
    """Precision, recall and their harmonic mean (F1), each in [0, 1]."""

    precision: float
    recall: float
    f1: float

    @classmethod
    def of(cls, precision: float, recall: float) -> Score:
        total = precision + recall
        return cls(precision, recall, 0.0 if total == 0 else 2 * precision * recall / total)


@dataclass(slots=True, frozen=True)
class ClassificationScores:
    """Accuracy and (macro- or otherwise averaged) precision, recall and F1."""

    accuracy: float
    precision: float
    recall: float
    f1: float


@cache
def _jieba() -> object:
    import jieba

    jieba.setLogLevel(logging.WARNING)  # its "Building prefix dict" chatter goes to stderr
    return jieba


def tokenize(text: str) -> list[str]:
    """Lower-cased words; Chinese runs segmented into words with jieba.

    Punctuation and whitespace are dropped, so ``"It is cold outside."`` gives
    ``["it", "is", "cold", "outside"]`` and ``"我想退货"`` gives ``["我", "想", "退货"]``.
    """
    tokens: list[str] = []
    position = 0
    for run in _CJK_RUN.finditer(text):
        tokens.extend(_WORD.findall(text[position : run.start()].lower()))
        tokens.extend(word for word in _jieba().lcut(run.group()) if word.strip())  # type: ignore[attr-defined]
        position = run.end()
    tokens.extend(_WORD.findall(text[position:].lower()))
    return tokens


class _Tokenizer:
    """Adapter giving ``rouge-score`` our tokenisation (its own drops every CJK character)."""

    def tokenize(self, text: str) -> list[str]:
        return tokenize(text)


def _ngrams(tokens: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def rouge_n(reference: str, candidate: str, n: int = 1, *, clipped: bool = True) -> Score:
    """ROUGE-N of one candidate against one reference.

    Clipped (the standard, what ``rouge-score`` computes): a candidate n-gram counts at most as
    often as it occurs in the reference. Unclipped: every candidate n-gram found anywhere in the
    reference counts, which rewards repeating one right word ("cold cold cold cold").

    Args:
        reference: the gold answer.
        candidate: the generated answer.
        n: n-gram length (1 for ROUGE-1, 2 for ROUGE-2).
        clipped: clip matches by the reference counts.

    Raises:
        ValueError: if ``n`` is smaller than 1.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, not {n}")
    ref = _ngrams(tokenize(reference), n)
    cand = _ngrams(tokenize(candidate), n)
    ref_total, cand_total = sum(ref.values()), sum(cand.values())
    if not ref_total or not cand_total:
        return Score(0.0, 0.0, 0.0)
    if clipped:
        overlap = sum((ref & cand).values())
        return Score.of(overlap / cand_total, overlap / ref_total)
    precision = sum(count for gram, count in cand.items() if gram in ref) / cand_total
    recall = sum(count for gram, count in ref.items() if gram in cand) / ref_total
    return Score.of(precision, recall)


@cache
def _rouge_scorer() -> object:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(list(ROUGE_TYPES), tokenizer=_Tokenizer())


def rouge(reference: str, candidate: str) -> dict[RougeType, Score]:
    """ROUGE-1, ROUGE-2 and ROUGE-L (clipped) from ``rouge-score``, with our tokenisation."""
    scores = _rouge_scorer().score(reference, candidate)  # type: ignore[attr-defined]
    return {name: Score(s.precision, s.recall, s.fmeasure) for name, s in scores.items()}


def mean_rouge(references: Sequence[str], candidates: Sequence[str]) -> dict[RougeType, float]:
    """Average ROUGE F1 over pairs (0 for each type when there are no pairs).

    Raises:
        ValueError: if the sequences differ in length.
    """
    _same_length(references, candidates)
    totals = dict.fromkeys(ROUGE_TYPES, 0.0)
    for reference, candidate in zip(references, candidates, strict=True):
        for name, score in rouge(reference, candidate).items():
            totals[name] += score.f1
    count = max(len(references), 1)
    return {name: total / count for name, total in totals.items()}


def bleu(references: Sequence[str], candidates: Sequence[str]) -> float:
    """Corpus BLEU-4 from ``sacrebleu``, scaled to [0, 1] like the other metrics.

    Chinese is tokenised per character (sacrebleu's ``zh`` tokenizer, the WMT convention)
    whenever a reference contains Chinese; otherwise the standard ``13a`` tokenizer is used.

    Raises:
        ValueError: if the sequences differ in length.
    """
    import sacrebleu

    _same_length(references, candidates)
    if not references:
        return 0.0
    chinese = any(_CJK_RUN.search(text) for text in references)
    result = sacrebleu.corpus_bleu(
        list(candidates), [list(references)], tokenize="zh" if chinese else "13a"
    )
    return float(result.score) / 100.0


def classification_scores(
    expected: Sequence[str],
    predicted: Sequence[str],
    *,
    average: Literal["macro", "micro", "weighted"] = "macro",
) -> ClassificationScores:
    """Accuracy, precision, recall and F1 of predicted labels (e.g. intents), by scikit-learn.

    Labels never predicted count as 0 precision instead of raising a warning.

    Raises:
        ValueError: if the sequences differ in length.
    """
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    _same_length(expected, predicted)
    if not expected:
        return ClassificationScores(0.0, 0.0, 0.0, 0.0)
    precision, recall, f1, _ = precision_recall_fscore_support(
        list(expected), list(predicted), average=average, zero_division=0
    )
    accuracy = accuracy_score(list(expected), list(predicted))
    return ClassificationScores(float(accuracy), float(precision), float(recall), float(f1))


def _same_length(first: Sequence[str], second: Sequence[str]) -> None:
    if len(first) != len(second):
        raise ValueError(f"{len(first)} references but {len(second)} candidates")
