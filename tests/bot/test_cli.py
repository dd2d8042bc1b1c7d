"""The ``kefu`` command line on small data of our own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app

CORPUS = [
    {
        "id": "ship",
        "title": "Shipping",
        "text": "Orders ship within 24 hours. Delivery takes two to three days by Xinghe Express.",
    },
    {
        "id": "refund",
        "title": "Refunds",
        "text": "Refunds reach Alipay within three working "
        "days after the returned item passes inspection.",
    },
    {"id": "invoice", "title": "发票", "text": "电子发票会在订单签收后24小时内发送到您的邮箱。"},
]
QUERIES = [
    {
        "query": "how many days does delivery take",
        "relevant_ids": ["ship"],
        "answer": "Delivery takes two to three days by Xinghe Express.",
    },
    {
        "query": "when will my refund reach alipay",
        "relevant_ids": ["refund"],
        "answer": "Refunds reach Alipay within three working days.",
    },
    {
        "query": "电子发票什么时候发到邮箱",
        "relevant_ids": ["invoice"],
        "answer": "订单签收后24小时内发送到您的邮箱。",
    },
]


@pytest.fixture
def eval_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.setenv("KEFU_DATA_DIR", str(tmp_path / "data"))
    corpus, queries = tmp_path / "corpus.jsonl", tmp_path / "queries.jsonl"
    corpus.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in CORPUS))
    queries.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in QUERIES))
    return corpus, queries


def last_json(output: str) -> dict[str, object]:
    result: dict[str, object] = json.loads(output.strip().splitlines()[-1])
    return result


def test_eval_retrieval_prints_metrics_as_json(eval_files: tuple[Path, Path]) -> None:
    corpus, queries = eval_files
    result = CliRunner().invoke(
        app, ["eval", "retrieval", "--corpus", str(corpus), "--queries", str(queries), "--json"]
    )
    assert result.exit_code == 0, result.output
    metrics = last_json(result.output)
    assert metrics["n_queries"] == 3
    assert metrics["hit@1"] == 1.0
    assert metrics["mrr@10"] == 1.0


def test_eval_answers_scores_against_gold_answers(eval_files: tuple[Path, Path]) -> None:
    corpus, queries = eval_files
    result = CliRunner().invoke(
        app, ["eval", "answers", "--corpus", str(corpus), "--queries", str(queries), "--json"]
    )
    assert result.exit_code == 0, result.output
    metrics = last_json(result.output)
    assert metrics["n_queries"] == 3
    assert 0.5 < float(str(metrics["rougeL"])) <= 1.0
    assert 0.0 < float(str(metrics["bleu4"])) <= 1.0


def test_kb_commands_ingest_and_search(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEFU_DATA_DIR", str(tmp_path / "data"))
    faq = tmp_path / "faq.csv"
    faq.write_text("question,answer\n礼品卡可以退吗？,礼品卡售出后不可退换。\n", encoding="utf-8")
    runner = CliRunner()
    ingested = runner.invoke(app, ["kb", "ingest", str(faq), "--json"])
    assert ingested.exit_code == 0, ingested.output
    assert last_json(ingested.output)["added"] == 1
    found = runner.invoke(app, ["kb", "search", "礼品卡能退吗", "--json"])
    hits = last_json(found.output)["hits"]
    assert isinstance(hits, list)
    assert "不可退换" in hits[0]["text"]


def test_kb_ingest_while_a_server_runs_survives_the_servers_reload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.settings import KnowledgeSettings
    from knowledge.base import KnowledgeBase
    from knowledge.embeddings import HashingEmbedder

    database_url = f"sqlite+aiosqlite:///{tmp_path / 'kefu.db'}"
    monkeypatch.setenv("KEFU_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KEFU_STORAGE__DATABASE_URL", database_url)
    monkeypatch.setenv("KEFU_KNOWLEDGE__EMBEDDER", "hashing")
    monkeypatch.setenv("KEFU_KNOWLEDGE__SOURCE_DIRS", "[]")
    server = KnowledgeBase.open(
        KnowledgeSettings(source_dirs=[], embedder="hashing"),
        tmp_path / "data",
        HashingEmbedder(),
        database_url=database_url,
    )
    faq = tmp_path / "uploads" / "faq.csv"
    faq.parent.mkdir()
    faq.write_text("question,answer\n礼品卡可以退吗？,礼品卡售出后不可退换。\n", encoding="utf-8")

    ingested = CliRunner().invoke(app, ["kb", "ingest", str(faq), "--json"])
    assert ingested.exit_code == 0, ingested.output

    for _ in range(2):  # the second reload used to delete what the CLI had ingested
        report = server.reload()
        assert (report.deleted, report.unchanged) == (0, 1)
    assert "不可退换" in server.search("礼品卡能退吗", 1)[0].text
    server.close()
