"""BM25 words and Chinese character pairs: questions jieba cuts oddly still find their entry,
and token ids cached by an older tokeniser are not reused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from knowledge.base import KnowledgeBase
from knowledge.lexical import QueryTerms, cjk_bigrams, index_terms, tokenize

from .conftest import BlindEmbedder, write_faq_csv

MakeKB = Callable[..., KnowledgeBase]

ROWS = [
    ("extended", "warranty", "延保服务怎么买？", "可以为手机购买延保服务，保修再延长两年。"),
    ("shipping-fee", "shipping", "运费怎么算？", "订单满99元包邮，不满99元收取运费8元。"),
    ("returns", "returns", "支持七天无理由退货吗？", "签收后七天内可以申请退货。"),
    ("invoice", "invoices", "怎么开发票？", "下单时选择开具电子发票，签收后发送到邮箱。"),
]


@pytest.fixture
def faq_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "faq"
    folder.mkdir()
    write_faq_csv(folder / "faq.csv", ROWS)
    return folder


@pytest.fixture
def kb(make_kb: MakeKB, faq_dir: Path) -> KnowledgeBase:
    """The FAQ indexed with an embedder that sees nothing: what is found, BM25 found."""
    loaded = make_kb([faq_dir], embedder=BlindEmbedder())
    loaded.reload()
    return loaded


def test_pairs_are_indexed_next_to_the_words() -> None:
    assert tokenize("延保能不能退") == ["延保能", "不能", "退"]  # no word in common with 延保
    assert "#延保" in cjk_bigrams("延保能不能退")
    assert index_terms("运费 free shipping") == ["运费", "free", "shipping", "#运费"]
    assert cjk_bigrams("how much is shipping") == []


@pytest.mark.parametrize(
    ("question", "entry"),
    [("延保能不能退", "extended"), ("包邮得满多少", "shipping-fee")],
)
def test_a_colloquially_cut_question_finds_its_entry_through_bm25(
    kb: KnowledgeBase, question: str, entry: str
) -> None:
    (best,) = kb.hits(question, 1, mode="bm25")
    assert best.chunk.doc_id == entry
    assert best.coverage > 0  # through the pairs: none of its words is in the entry


def test_coverage_of_an_english_question_is_unchanged_by_pairs(kb: KnowledgeBase) -> None:
    (best,) = kb.hits("运费 refund", 1, mode="bm25")
    terms = QueryTerms.of("运费 refund")
    assert terms.pairs == ["#运费"]
    assert best.chunk.doc_id == "shipping-fee"
    assert 0 < best.coverage < 1  # "refund" is in no entry and still counts against it


def test_token_ids_cached_by_the_word_only_tokeniser_are_rebuilt(
    kb: KnowledgeBase, make_kb: MakeKB, faq_dir: Path, data_dir: Path
) -> None:
    kb.close()
    (cache,) = (data_dir / "lexical").glob("*.npz")
    with np.load(cache) as data:
        ids = data["ids"].tolist()
    # what the previous version wrote: no version, words only (here: one word per chunk)
    np.savez(
        cache,
        vocab=np.array(["旧"], dtype=str),
        ids=np.array(ids, dtype=str),
        flat=np.zeros(len(ids), dtype=np.int32),
        offsets=np.arange(len(ids) + 1, dtype=np.int64),
    )
    reopened = make_kb([faq_dir], embedder=BlindEmbedder())
    (best,) = reopened.hits("包邮得满多少", 1, mode="bm25")
    assert best.chunk.doc_id == "shipping-fee"
    with np.load(cache) as data:
        assert "#包邮" in data["vocab"].tolist()  # saved again in the current format


def test_a_count_in_digits_finds_the_entry_that_writes_it_in_numerals(kb: KnowledgeBase) -> None:
    (best,) = kb.hits("7天以后还能退吗", 1, mode="bm25")
    assert best.chunk.doc_id == "returns"  # the entry says 七天
