"""Metrics: the seed's worked examples, and agreement with the reference libraries."""

from __future__ import annotations

import pytest
import sacrebleu
from rouge_score import rouge_scorer

from core.metrics import (
    bleu,
    classification_scores,
    mean_rouge,
    rouge,
    rouge_n,
    tokenize,
)

REFERENCE = "It is cold outside."
CANDIDATE = "cold cold cold cold"

ENGLISH_PAIRS = [
    ("The parcel ships within 48 hours.", "Your parcel ships within two days."),
    ("Returns are free within 7 days of delivery.", "Returns are free for 7 days."),
    ("the cat sat on the mat", "the cat the cat on the mat"),
]
CHINESE_PAIRS = [
    ("签收后7天内可以无理由退货。", "签收后7天内支持无理由退货。"),
    ("发票可以在订单详情页申请。", "您可以在订单页面申请开发票。"),
]


def test_unclipped_rouge1_precision_rewards_repeating_a_right_word() -> None:
    assert rouge_n(REFERENCE, CANDIDATE, 1, clipped=False).precision == 1.0


def test_clipped_rouge1_precision_counts_the_word_once() -> None:
    score = rouge_n(REFERENCE, CANDIDATE, 1)
    assert score.precision == 0.25
    assert score.recall == 0.25


def test_library_agrees_with_the_seed_on_the_clipped_example() -> None:
    assert rouge(REFERENCE, CANDIDATE)["rouge1"].precision == 0.25


@pytest.mark.parametrize(("reference", "candidate"), ENGLISH_PAIRS)
def test_english_rouge_matches_rouge_score_defaults(reference: str, candidate: str) -> None:
    expected = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"]).score(reference, candidate)
    ours = rouge(reference, candidate)
    for name in ("rouge1", "rouge2", "rougeL"):
        assert ours[name].f1 == pytest.approx(expected[name].fmeasure)
        assert ours[name].precision == pytest.approx(expected[name].precision)


@pytest.mark.parametrize(("reference", "candidate"), ENGLISH_PAIRS + CHINESE_PAIRS)
@pytest.mark.parametrize("n", [1, 2])
def test_hand_written_clipped_rouge_n_equals_the_library(
    reference: str, candidate: str, n: int
) -> None:
    library = rouge(reference, candidate)["rouge1" if n == 1 else "rouge2"]
    ours = rouge_n(reference, candidate, n)
    assert ours.precision == pytest.approx(library.precision)
    assert ours.recall == pytest.approx(library.recall)
    assert ours.f1 == pytest.approx(library.f1)


def test_chinese_is_segmented_into_words_not_dropped() -> None:
    assert tokenize("我想退货") == ["我", "想", "退货"]
    assert tokenize("我的 order 到哪了？") == ["我", "的", "order", "到", "哪", "了"]
    # rouge-score's own tokenizer drops every CJK character: a wrong answer would score 0/0.
    assert rouge("签收后7天内可以退货", "签收后7天内可以退货")["rougeL"].f1 == 1.0
    assert rouge("签收后7天内可以退货", "发票在订单页申请")["rouge1"].f1 == 0.0


def test_bleu_matches_sacrebleu_with_the_right_tokenizer() -> None:
    refs = [ref for ref, _ in ENGLISH_PAIRS]
    cands = [cand for _, cand in ENGLISH_PAIRS]
    expected = sacrebleu.corpus_bleu(cands, [refs], tokenize="13a").score / 100
    assert bleu(refs, cands) == pytest.approx(expected)

    zh_refs = [ref for ref, _ in CHINESE_PAIRS]
    zh_cands = [cand for _, cand in CHINESE_PAIRS]
    expected_zh = sacrebleu.corpus_bleu(zh_cands, [zh_refs], tokenize="zh").score / 100
    assert bleu(zh_refs, zh_cands) == pytest.approx(expected_zh)
    assert 0.0 < bleu(zh_refs, zh_cands) < 1.0


def test_bleu_of_identical_answers_is_one_and_of_unrelated_ones_near_zero() -> None:
    refs = [ref for ref, _ in ENGLISH_PAIRS]
    assert bleu(refs, refs) == pytest.approx(1.0)
    assert bleu(refs, ["completely different words here"] * len(refs)) < 0.05


def test_mean_rouge_averages_f1_per_type() -> None:
    scores = mean_rouge([REFERENCE, "签收后7天内可以退货"], [REFERENCE, "发票在订单页申请"])
    assert scores == {"rouge1": 0.5, "rouge2": 0.5, "rougeL": 0.5}


def test_metrics_refuse_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="2 references but 1 candidates"):
        bleu(["a", "b"], ["a"])


def test_classification_scores_match_a_hand_computed_example() -> None:
    scores = classification_scores(["a", "a", "b", "b"], ["a", "b", "b", "b"])
    assert scores.accuracy == 0.75
    assert scores.precision == pytest.approx((1 + 2 / 3) / 2)
    assert scores.recall == pytest.approx((0.5 + 1) / 2)
    assert scores.f1 == pytest.approx((2 / 3 + 0.8) / 2)


def test_a_label_never_predicted_counts_as_zero_without_a_warning() -> None:
    scores = classification_scores(["refund", "shipping"], ["shipping", "shipping"])
    assert scores.precision == pytest.approx(0.25)
