"""Hybrid ranking: fusion, exact keywords through BM25, calibrated scores with the real model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from core.settings import KnowledgeSettings
from knowledge.base import KnowledgeBase
from knowledge.embeddings import E5Embedder
from knowledge.lexical import tokenize
from knowledge.retrieval import reciprocal_rank_fusion

from .conftest import BlindEmbedder, write_faq_csv

MakeKB = Callable[..., KnowledgeBase]


def test_rrf_rewards_agreement_between_rankings() -> None:
    def ranking(ids: str, weight: float = 1.0) -> list[tuple[str, float]]:
        return [(chunk_id, weight) for chunk_id in ids]

    fused = reciprocal_rank_fusion([ranking("abc"), ranking("bda")], k=60)
    assert [chunk_id for chunk_id, _ in fused] == ["b", "a", "d", "c"]
    weighted = reciprocal_rank_fusion([ranking("ab", 3.0), ranking("ba")], k=1)
    assert weighted[0][0] == "a"


def test_tokenize_handles_chinese_english_and_mixed_text() -> None:
    assert tokenize("How do I RETURN my Order?") == ["return", "order"]
    assert "退货" in tokenize("我想退货")
    mixed = tokenize("我的XH-77快递到哪了")
    assert {"xh", "77", "快递"} <= set(mixed)


def test_hybrid_finds_an_exact_keyword_that_dense_misses(make_kb: MakeKB, shop_dir: Path) -> None:
    kb = make_kb([shop_dir], embedder=BlindEmbedder())
    kb.reload()
    query = "XH-77 courier code"
    dense = kb.search(query, 3, mode="dense")
    hybrid = kb.search(query, 3, mode="hybrid")
    assert "XH-77" not in dense[0].text  # a model that cannot tell chunks apart
    assert "XH-77" in hybrid[0].text
    assert hybrid[0].section == "Shipping policy > Carriers"


@pytest.fixture(scope="module")
def e5_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    folder = tmp_path_factory.mktemp("e5kb")
    write_faq_csv(folder / "faq.csv")
    settings = KnowledgeSettings(source_dirs=[folder])
    kb = KnowledgeBase.open(settings, tmp_path_factory.mktemp("data"), E5Embedder())
    kb.reload()
    return kb


@pytest.mark.parametrize(
    ("query", "faq_id"),
    [
        ("买了东西不想要了能退吗", "returns-window"),
        ("when will I get my money back", "refund-timing"),
        ("customer service telephone", "hotline"),
    ],
)
def test_paraphrased_questions_find_their_faq(
    e5_kb: KnowledgeBase, query: str, faq_id: str
) -> None:
    (best,) = e5_kb.search(query, 1)
    assert best.doc_id == faq_id
    assert best.score >= e5_kb.settings.answer_threshold


@pytest.mark.parametrize(
    "query", ["今天北京天气怎么样", "write me a poem about autumn", "who won the world cup"]
)
def test_out_of_scope_questions_score_below_the_answer_threshold(
    e5_kb: KnowledgeBase, query: str
) -> None:
    best = e5_kb.search(query, 1)[0]
    in_scope = e5_kb.search("how long do refunds take", 1)[0]
    assert best.score < e5_kb.settings.answer_threshold <= in_scope.score


def test_coverage_counts_rare_words_more_and_unknown_words_against(
    make_kb: MakeKB, shop_dir: Path
) -> None:
    kb = make_kb([shop_dir])
    kb.reload()
    [carriers] = [p for p in kb.search("SF Express carriers", 10) if "XH-77" in p.text]
    lexical = kb._lexical
    full = lexical.coverage(tokenize("XH-77 courier code"), carriers.chunk_id)
    partial = lexical.coverage(tokenize("XH-77 courier code for hovercraft"), carriers.chunk_id)
    assert full == 1.0
    assert 0 < partial < full


def test_bm25_survives_a_lost_token_cache(make_kb: MakeKB, shop_dir: Path, data_dir: Path) -> None:
    make_kb([shop_dir]).reload()
    for cache in (data_dir / "lexical").glob("*.npz"):
        cache.unlink()
    kb = make_kb([shop_dir], embedder=BlindEmbedder())
    assert "XH-77" in kb.search("XH-77 courier code", 1)[0].text
