"""FAQ phrasings (question and alternatives) matched question to question: stored with the
entry, gone with it, backfilled into an index written before they were, and what turns a
colloquial question its FAQ anticipated into a confident hit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from core.errors import InputError
from core.settings import KnowledgeSettings
from knowledge.base import KnowledgeBase, collection_name
from knowledge.embeddings import E5Embedder, HashingEmbedder
from knowledge.store import make_client

MakeKB = Callable[..., KnowledgeBase]

HEADER = "id,language,question,相似问,answer\n"
RETURNS = (
    "returns,zh,支持7天无理由退货吗？,收到货几天了不太喜欢，还能退吗 | 买了后悔了可以退不,"
    "支持。自签收之日起7天内，商品完好的可以申请7天无理由退货。\n"
)
OTHERS = (
    "invoice,zh,怎么开发票？,发票在哪里开,下单时在结算页选择发票并填写抬头。\n"
    "hotline,zh,客服电话是多少？,怎么联系人工,请拨打400-820-1234，每天9:00-21:00。\n"
    "fees,zh,运费怎么收？,包邮吗,订单满99元包邮，不满99元收8元运费。\n"
)


def write_faq(folder: Path, rows: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "faq.csv").write_text(HEADER + rows, encoding="utf-8")
    return folder


def test_a_question_an_alternative_anticipated_finds_its_entry_as_a_confident_hit(
    tmp_path: Path, e5: E5Embedder
) -> None:
    question = "收到货第五天了感觉不太喜欢，还来得及退不"
    scores = {}
    for name, rows in {
        "with": RETURNS,
        "without": RETURNS.replace("收到货几天了不太喜欢，还能退吗 | 买了后悔了可以退不", ""),
    }.items():
        settings = KnowledgeSettings(source_dirs=[write_faq(tmp_path / name, rows + OTHERS)])
        kb = KnowledgeBase.open(settings, tmp_path / f"data-{name}", e5)
        try:
            kb.reload()
            (best,) = kb.search(question, 1)
            assert best.doc_id == "returns"
            scores[name] = best.score
        finally:
            kb.close()
    threshold = KnowledgeSettings().answer_threshold
    assert scores["with"] >= threshold > scores["without"]


def test_phrasings_are_written_with_their_entry_and_deleted_with_it(
    make_kb: MakeKB, tmp_path: Path
) -> None:
    folder = write_faq(tmp_path / "kb", RETURNS + OTHERS)
    kb = make_kb([folder])
    kb.reload()
    [found] = kb.hits("买了后悔了可以退不", 1)
    assert found.chunk.doc_id == "returns"
    write_faq(folder, OTHERS)
    kb.reload()
    hits = kb.hits("买了后悔了可以退不", 4)
    assert "returns" not in {h.chunk.doc_id for h in hits}
    gone = [(found.chunk, ["买了后悔了可以退不"])]
    assert kb._store.missing_phrasings(gone) == [(found.chunk, ["买了后悔了可以退不"])]


def test_an_index_written_before_phrasings_gets_them_when_opened(
    make_kb: MakeKB, tmp_path: Path, data_dir: Path
) -> None:
    folder = write_faq(tmp_path / "kb", RETURNS + OTHERS)
    kb = make_kb([folder])
    kb.reload()
    kb.close()
    client = make_client(None, data_dir)
    client.delete_collection(f"{collection_name('kefu', HashingEmbedder().name)}-questions")
    reopened = make_kb([folder])
    best = reopened.hits("买了后悔了可以退不", 1)[0]
    assert best.chunk.doc_id == "returns"
    assert best.cosine == pytest.approx(1.0 - reopened.retriever.weights.phrasing_offset, abs=1e-3)


def test_a_phrasing_learned_for_a_file_entry_survives_its_file_changing(
    make_kb: MakeKB, tmp_path: Path
) -> None:
    folder = write_faq(tmp_path / "kb", RETURNS + OTHERS)
    kb = make_kb([folder])
    kb.reload()
    assert kb.add_alternative("怎么开发票？", "报销凭证去哪弄") == "invoice"
    assert kb.hits("报销凭证去哪弄", 1)[0].chunk.doc_id == "invoice"
    assert "报销凭证去哪弄" in kb.search("报销凭证去哪弄", 1)[0].alternatives

    # the file changes (the entry's answer is edited): the entry is re-indexed with it
    write_faq(folder, RETURNS + OTHERS.replace("填写抬头", "填写发票抬头"))
    kb.reload()
    [best] = kb.hits("报销凭证去哪弄", 1)
    assert best.chunk.doc_id == "invoice"
    assert best.cosine == pytest.approx(1.0 - kb.retriever.weights.phrasing_offset, abs=1e-3)


def test_an_unknown_entry_or_an_empty_phrasing_is_refused(make_kb: MakeKB, tmp_path: Path) -> None:
    kb = make_kb([write_faq(tmp_path / "kb", OTHERS)])
    kb.reload()
    with pytest.raises(InputError, match="no FAQ entry"):
        kb.add_alternative("no-such-entry", "hello")
    with pytest.raises(InputError, match="empty"):
        kb.add_alternative("invoice", "  ")
