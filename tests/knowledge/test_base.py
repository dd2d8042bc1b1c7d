"""The knowledge base as admins and the bot use it: ingest, reload, add, delete, search."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from core.errors import InputError, KnowledgeError, VectorStoreError
from core.settings import KnowledgeSettings
from knowledge.base import ADDITIONS_FILE, KnowledgeBase
from knowledge.embeddings import HashingEmbedder

from .conftest import FailingEmbedder, write_faq_csv

MakeKB = Callable[..., KnowledgeBase]


def top(kb: KnowledgeBase, query: str, **filters: str) -> str:
    hits = kb.search(query, 3, filters or None)
    assert hits, f"no hits for {query!r}"
    return hits[0].doc_id or hits[0].text


def test_reload_indexes_every_source_and_reports_counts(make_kb: MakeKB, shop_dir: Path) -> None:
    kb = make_kb([shop_dir])
    assert kb.is_empty()
    report = kb.reload()
    assert (report.added, report.updated, report.deleted, report.unchanged) == (2, 0, 0, 0)
    stats = kb.stats()
    assert (stats.sources, stats.faq_entries) == (2, 6)
    assert stats.chunks == report.chunks > 6
    assert not kb.is_empty()
    assert top(kb, "运费怎么算") == "shipping-fee"


def test_reingesting_unchanged_files_changes_nothing(make_kb: MakeKB, shop_dir: Path) -> None:
    kb = make_kb([shop_dir])
    first = kb.reload()
    again = kb.ingest([shop_dir])
    assert (again.added, again.updated, again.unchanged, again.embedded) == (0, 0, 2, 0)
    assert again.chunks == first.chunks
    reopened = make_kb([shop_dir]).reload()
    assert (reopened.unchanged, reopened.embedded) == (2, 0)


def test_reload_reports_added_updated_and_deleted_files(make_kb: MakeKB, shop_dir: Path) -> None:
    kb = make_kb([shop_dir])
    kb.reload()
    (shop_dir / "policies" / "shipping.md").unlink()
    write_faq_csv(
        shop_dir / "faq.csv",
        [("gift-card", "payment", "Can I pay with a gift card?", "Yes, at checkout.")],
    )
    (shop_dir / "privacy.txt").write_text("We never sell your data.", encoding="utf-8")
    report = kb.reload()
    assert (report.added, report.updated, report.deleted, report.unchanged) == (1, 1, 1, 0)
    assert report.embedded == 2
    assert set(kb.sources()) == {"faq.csv", "privacy.txt"}
    assert top(kb, "pay with a gift card") == "gift-card"
    assert all(p.source != "policies/shipping.md" for p in kb.search("SF Express carriers", 5))


def test_a_broken_file_is_reported_and_the_rest_is_indexed(make_kb: MakeKB, shop_dir: Path) -> None:
    (shop_dir / "scan.pdf").write_bytes(b"%PDF-1.4 garbage")
    (shop_dir / "empty.md").write_text("", encoding="utf-8")
    report = make_kb([shop_dir]).reload()
    assert set(report.failed) == {"scan.pdf", "empty.md"}
    assert report.failed["empty.md"] == "file is empty"
    assert report.added == 2


def test_a_file_that_breaks_later_keeps_its_previous_chunks(
    make_kb: MakeKB, shop_dir: Path
) -> None:
    kb = make_kb([shop_dir])
    kb.reload()
    (shop_dir / "faq.csv").write_bytes(b"\x00\x01 not a table")
    report = kb.reload()
    assert "faq.csv" in report.failed
    assert top(kb, "运费怎么算") == "shipping-fee"


def test_failed_reload_leaves_the_previous_index_answering(data_dir: Path, shop_dir: Path) -> None:
    embedder = FailingEmbedder()
    settings = KnowledgeSettings(source_dirs=[shop_dir], embedder="hashing")
    kb = KnowledgeBase.open(settings, data_dir, embedder)
    kb.reload()
    before = kb.stats().chunks
    write_faq_csv(shop_dir / "faq.csv", [("new", "c", "Brand new question?", "New answer.")])
    embedder.broken = True
    with pytest.raises(KnowledgeError, match="model crashed"):
        kb.reload()
    assert kb.stats().chunks == before
    assert top(kb, "运费怎么算") == "shipping-fee"
    embedder.broken = False
    report = kb.reload()
    assert (report.updated, report.unchanged) == (1, 1)
    assert top(kb, "Brand new question") == "new"


def test_ingest_outside_source_dirs_is_tracked_by_later_reloads(
    make_kb: MakeKB, shop_dir: Path, tmp_path: Path
) -> None:
    kb = make_kb([shop_dir])
    kb.reload()
    extra = tmp_path / "uploads" / "holidays.txt"
    extra.parent.mkdir()
    extra.write_text("We are closed on 1 January.", encoding="utf-8")
    assert kb.ingest([extra]).added == 1
    assert kb.reload().unchanged == 3
    extra.unlink()
    report = kb.reload()
    assert report.deleted == 1
    assert "holidays.txt" not in kb.sources()


def test_missing_source_folder_fails_without_deleting_its_chunks(
    data_dir: Path, shop_dir: Path, tmp_path: Path
) -> None:
    settings = KnowledgeSettings(source_dirs=[shop_dir], embedder="hashing")
    KnowledgeBase.open(settings, data_dir, HashingEmbedder()).reload()
    moved = tmp_path / "moved"
    shop_dir.rename(moved)
    kb = KnowledgeBase.open(settings, data_dir, HashingEmbedder())
    report = kb.reload()
    assert str(shop_dir) in report.failed
    assert report.deleted == 0
    assert top(kb, "运费怎么算") == "shipping-fee"


def test_add_faq_is_searchable_at_once_and_survives_reload(
    make_kb: MakeKB, shop_dir: Path, data_dir: Path
) -> None:
    kb = make_kb([shop_dir])
    kb.reload()
    faq_id = kb.add_faq("Do you price-match?", "Yes, within 7 days of purchase.", "payment")
    (hit,) = kb.search("price-match", 1)
    assert (hit.doc_id, hit.kind, hit.answer, hit.category) == (
        faq_id,
        "faq",
        "Yes, within 7 days of purchase.",
        "payment",
    )
    assert faq_id.startswith("added-")
    assert hit.source == ADDITIONS_FILE
    assert not (data_dir / ADDITIONS_FILE).exists()  # kept in the database, not in a file
    report = make_kb([shop_dir]).reload()
    assert report.unchanged == 3
    assert make_kb([shop_dir]).search("price-match", 1)[0].chunk_id == hit.chunk_id


def test_add_faq_with_the_same_question_replaces_the_answer(
    make_kb: MakeKB, shop_dir: Path
) -> None:
    kb = make_kb([shop_dir])
    kb.add_faq("Do you price-match?", "No.")
    kb.add_faq("do you price-match", "Yes, within 7 days.")
    answers = [p.answer for p in kb.search("price-match", 5) if p.source == ADDITIONS_FILE]
    assert answers == ["Yes, within 7 days."]
    with pytest.raises(InputError):
        kb.add_faq("  ", "answer")


def test_delete_source_removes_its_chunks(make_kb: MakeKB, shop_dir: Path) -> None:
    kb = make_kb([shop_dir])
    kb.reload()
    kb.add_faq("Do you price-match?", "Yes.")
    assert kb.delete_source("policies/shipping.md") == 2
    assert "policies/shipping.md" not in kb.sources()
    assert kb.delete_source(ADDITIONS_FILE) == 1
    # the file comes back from its folder; the deleted additions do not
    report = kb.reload()
    assert report.added == 1
    assert ADDITIONS_FILE not in kb.sources()


def test_filters_restrict_hits(make_kb: MakeKB, shop_dir: Path) -> None:
    kb = make_kb([shop_dir])
    kb.reload()
    assert {p.kind for p in kb.search("shipping delivery", 10, {"kind": "doc"})} == {"doc"}
    assert {p.category for p in kb.search("退货", 10, {"category": "returns"})} == {"returns"}
    only = kb.search("delivery", 10, {"source": "policies/shipping.md", "kind": "doc"})
    assert only and {p.source for p in only} == {"policies/shipping.md"}
    assert kb.search("delivery", 10, {"category": "no-such-category"}) == []
    with pytest.raises(InputError, match="unknown filter"):
        kb.search("delivery", 3, {"colour": "red"})


def test_concurrent_searches_during_a_reload(make_kb: MakeKB, shop_dir: Path) -> None:
    kb = make_kb([shop_dir])
    kb.reload()
    errors: list[BaseException] = []
    found: list[str] = []

    def ask() -> None:
        try:
            for _ in range(10):
                found.append(top(kb, "运费怎么算"))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    (shop_dir / "extra.txt").write_text("Extra text about gift wrapping.", encoding="utf-8")
    kb.reload()
    for thread in threads:
        thread.join()
    assert not errors
    assert set(found) == {"shipping-fee"}


def test_unreachable_chroma_server_raises_vector_store_error(data_dir: Path) -> None:
    settings = KnowledgeSettings(chroma_url="http://127.0.0.1:9", embedder="hashing")
    with pytest.raises(VectorStoreError, match="vector store failed"):
        KnowledgeBase.open(settings, data_dir, HashingEmbedder())


def test_duplicated_faq_questions_are_reported(make_kb: MakeKB, shop_dir: Path) -> None:
    write_faq_csv(
        shop_dir / "faq.csv",
        [("a", "c", "Can I return it?", "Yes."), ("b", "c", "can i return it", "No.")],
    )
    report = make_kb([shop_dir]).reload()
    (note,) = report.skipped["faq.csv"]
    assert "duplicated question" in note
