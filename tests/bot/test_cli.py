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


@pytest.fixture
def kb_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A source folder with an FAQ, an unsupported file, a README and a broken PDF."""
    monkeypatch.setenv("KEFU_DATA_DIR", str(tmp_path / "data"))
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "faq.csv").write_text(
        "question,answer\n礼品卡可以退吗？,礼品卡售出后不可退换。\n", encoding="utf-8"
    )
    (folder / "notes.xyz").write_text("not knowledge", encoding="utf-8")
    (folder / "README.md").write_text("# how this folder works", encoding="utf-8")
    (folder / "broken.pdf").write_bytes(b"not a pdf at all")
    monkeypatch.setenv("KEFU_KNOWLEDGE__SOURCE_DIRS", json.dumps([str(folder)]))
    return folder


def test_ingest_lists_every_skipped_and_failed_file_and_exits_1(kb_folder: Path) -> None:
    result = CliRunner().invoke(app, ["kb", "ingest", str(kb_folder)])
    assert result.exit_code == 1
    out = result.stdout
    assert "notes.xyz" in out and "unsupported file type .xyz" in out
    assert "README.md" in out and "excluded by the pattern 'README*'" in out
    assert "broken.pdf" in out and "cannot read PDF" in out
    assert "{" not in out  # a table, not a Python dict
    assert "added" in out.splitlines()[0] and "failed" in out.splitlines()[0]


def test_reload_exits_like_ingest_for_the_same_failure(kb_folder: Path) -> None:
    runner = CliRunner()
    reload = runner.invoke(app, ["kb", "reload", "--json"])
    assert reload.exit_code == 1
    report = last_json(reload.stdout)
    assert list(report["failed"]) == ["broken.pdf"]  # type: ignore[call-overload]
    assert set(report["skipped_files"]) == {  # type: ignore[call-overload]
        str(kb_folder / "notes.xyz"),
        str(kb_folder / "README.md"),
    }
    (kb_folder / "broken.pdf").unlink()
    assert runner.invoke(app, ["kb", "reload"]).exit_code == 0


def test_logs_go_to_stderr_and_output_to_stdout(kb_folder: Path) -> None:
    (kb_folder / "broken.pdf").unlink()
    result = CliRunner().invoke(app, ["kb", "reload", "--json"])
    assert result.exit_code == 0
    assert last_json(result.stdout)["added"] == 1
    assert "kb.ingest.finished" in result.stderr
    assert "kb.ingest.finished" not in result.stdout
    assert "DEBUG:bm25s" not in result.stderr


def test_kb_stats_lists_each_source_with_chunks_and_type(kb_folder: Path) -> None:
    (kb_folder / "broken.pdf").unlink()
    runner = CliRunner()
    assert runner.invoke(app, ["kb", "reload"]).exit_code == 0
    text = runner.invoke(app, ["kb", "stats"]).stdout
    [row] = [line for line in text.splitlines() if line.startswith("faq.csv")]
    assert row.split()[:3] == ["faq.csv", "faq", "1"]
    data = last_json(runner.invoke(app, ["kb", "stats", "--json"]).stdout)
    assert data["per_source"] == [
        {
            "source": "faq.csv",
            "type": "faq",
            "chunks": 1,
            "modified": data["per_source"][0]["modified"],
        }  # type: ignore[index]
    ]


def test_eval_retrieval_limits_queries_and_reuses_its_index(eval_files: tuple[Path, Path]) -> None:
    corpus, queries = eval_files
    command = ["eval", "retrieval", "--corpus", str(corpus), "--queries", str(queries), "--json"]
    first = last_json(CliRunner().invoke(app, [*command, "--limit", "2"]).stdout)
    assert first["n_queries"] == 2
    assert first["index_reused"] is False
    second = last_json(CliRunner().invoke(app, command).stdout)
    assert second["n_queries"] == 3
    assert second["index_reused"] is True
    assert second["hit@1"] == 1.0
