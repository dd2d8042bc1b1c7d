"""Knowledge state in the database: several workers (and the CLI) on one database and one Chroma.

Each test runs on SQLite and on PostgreSQL (when ``KEFU_TEST_DATABASE_URL`` is set), with an
embedded Chroma and with a ``chroma run`` server on 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from core.settings import KnowledgeSettings
from knowledge.base import ADDITIONS_FILE, KnowledgeBase
from knowledge.embeddings import HashingEmbedder
from knowledge.retrieval import RetrievalMode
from tests.knowledge.conftest import OpenWorker

PRICE_Q, PRICE_A = "Do you price-match other shops?", "Yes, within 7 days of purchase."
WRAP_Q, WRAP_A = "Can you gift-wrap my order?", "Gift wrapping costs 5 yuan at checkout."


def answer(kb: KnowledgeBase, question: str, mode: RetrievalMode = "hybrid") -> str | None:
    hits = kb.search(question, 3, mode=mode)
    found = [p for p in hits if p.kind == "faq" and p.question == question]
    return found[0].answer if found else None


def test_faq_added_on_one_worker_is_answered_by_the_other(open_worker: OpenWorker) -> None:
    a, b = open_worker("a"), open_worker("b")
    a.reload()
    assert b.refresh_if_changed() is True

    a.add_faq(PRICE_Q, PRICE_A)

    # Chroma is shared; B's BM25/FAQ matcher is a cache until B refreshes it.
    assert answer(b, PRICE_Q, "bm25") is None
    assert b.refresh_if_changed() is True
    assert answer(b, PRICE_Q, "bm25") == answer(b, PRICE_Q) == PRICE_A
    assert b.refresh_if_changed() is False


def test_reload_on_another_worker_keeps_the_faq(open_worker: OpenWorker) -> None:
    a, b = open_worker("a"), open_worker("b")
    a.reload()
    a.add_faq(PRICE_Q, PRICE_A)

    report = b.reload()  # B has not refreshed: its own view of the index is stale

    assert (report.deleted, report.failed) == (0, {})
    assert answer(b, PRICE_Q) == PRICE_A
    assert answer(open_worker("c"), PRICE_Q) == PRICE_A
    assert ADDITIONS_FILE in a.sources()


def test_file_ingested_by_the_cli_survives_a_reload_on_a_worker(
    open_worker: OpenWorker, tmp_path: Path
) -> None:
    worker = open_worker("worker")
    worker.reload()
    outside = tmp_path / "uploads" / "holidays.txt"
    outside.parent.mkdir()
    outside.write_text("During the Spring Festival the XQ-9 warehouse is closed for 5 days.")

    report = open_worker("cli").ingest([outside])
    assert report.added == 1

    assert worker.reload().deleted == 0
    assert worker.search("XQ-9 warehouse Spring Festival", 1)[0].source == "holidays.txt"
    outside.unlink()  # a file gone from the machine that can see it is dropped
    assert worker.reload().deleted == 1
    assert "holidays.txt" not in worker.sources()


def test_deleting_one_added_entry_keeps_the_others(open_worker: OpenWorker) -> None:
    a, b = open_worker("a"), open_worker("b")
    a.reload()
    price_id = a.add_faq(PRICE_Q, PRICE_A)
    a.add_faq(WRAP_Q, WRAP_A)

    assert b.delete_source(price_id) == 1

    assert answer(b, PRICE_Q) is None
    assert answer(b, WRAP_Q) == WRAP_A
    assert a.refresh_if_changed() is True
    assert (answer(a, PRICE_Q), answer(a, WRAP_Q)) == (None, WRAP_A)
    assert a.reload().deleted == 0  # the deletion is in the database: it does not come back
    assert answer(a, PRICE_Q) is None
    assert a.delete_source("added-0000000000") == 0


def test_deleting_the_additions_source_deletes_every_addition(open_worker: OpenWorker) -> None:
    kb = open_worker("a")
    kb.add_faq(PRICE_Q, PRICE_A)
    kb.add_faq(WRAP_Q, WRAP_A)

    assert kb.delete_source(ADDITIONS_FILE) == 2

    kb.reload()
    assert ADDITIONS_FILE not in kb.sources()
    kb.add_faq(WRAP_Q, WRAP_A)  # an entry added again after a deletion is live again
    assert answer(kb, WRAP_Q) == WRAP_A


def test_every_change_moves_the_generation_and_calls_the_hook(open_worker: OpenWorker) -> None:
    published: list[int] = []
    kb = open_worker("a", on_changed=published.append)
    start = kb.generation

    kb.reload()
    kb.reload()  # nothing changed: nothing to publish
    faq_id = kb.add_faq(PRICE_Q, PRICE_A)
    kb.delete_source(faq_id)

    assert published == [start + 1, start + 2, start + 3]
    assert kb.generation == start + 3
    assert open_worker("b").generation == start + 3


def test_a_change_waits_for_the_writer_on_another_worker(open_worker: OpenWorker) -> None:
    a, b = open_worker("a"), open_worker("b")
    added = threading.Event()

    def add_on_b() -> None:
        b.add_faq(PRICE_Q, PRICE_A)
        added.set()

    with a._state.writing():  # A in the middle of a long reload
        thread = threading.Thread(target=add_on_b)
        thread.start()
        assert not added.wait(0.5)
    thread.join(timeout=30)
    assert added.is_set()
    a.refresh_if_changed()
    assert answer(a, PRICE_Q) == PRICE_A


def test_old_data_folder_files_are_imported_once(
    database_url: str, shop_dir: Path, tmp_path: Path
) -> None:
    data_dir = tmp_path / "old"
    data_dir.mkdir()
    outside = tmp_path / "uploads" / "holidays.txt"
    outside.parent.mkdir()
    outside.write_text("During the Spring Festival the XQ-9 warehouse is closed for 5 days.")
    settings = KnowledgeSettings(source_dirs=[shop_dir], embedder="hashing")
    rows = [
        {"id": "added-aaaaaaaaaa", "question": PRICE_Q, "answer": PRICE_A, "category": None},
        {"id": "added-bbbbbbbbbb", "question": WRAP_Q, "answer": WRAP_A, "language": "en"},
    ]
    (data_dir / ADDITIONS_FILE).write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    manifest = {
        "version": 1,
        "sources": {
            "holidays.txt": {"path": str(outside), "root": str(outside.parent), "sha256": "x"}
        },
    }
    (data_dir / "kb_manifest.kefu-hashing-256.json").write_text(json.dumps(manifest))

    def open_kb() -> KnowledgeBase:
        return KnowledgeBase.open(settings, data_dir, HashingEmbedder(), database_url=database_url)

    kb = open_kb()
    kb.reload()

    assert (answer(kb, PRICE_Q), answer(kb, WRAP_Q)) == (PRICE_A, WRAP_A)
    assert {"holidays.txt", ADDITIONS_FILE} <= kb.sources().keys()
    assert not (data_dir / ADDITIONS_FILE).exists()
    assert (data_dir / f"{ADDITIONS_FILE}.imported").exists()
    assert kb.delete_source("added-aaaaaaaaaa") == 1
    kb.close()
    again = open_kb()  # opening again imports nothing: the deleted entry stays deleted
    assert again.reload().deleted == 0
    assert (answer(again, PRICE_Q), answer(again, WRAP_Q)) == (None, WRAP_A)
    again.close()
