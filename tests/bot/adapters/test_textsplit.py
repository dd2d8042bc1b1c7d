"""Splitting long replies and the sources line, shared by the platform adapters."""

from __future__ import annotations

from bot.adapters.textsplit import sources_line, split_text, utf8_len
from core.types import Citation


def test_split_prefers_sentence_ends_and_keeps_every_word() -> None:
    text = " ".join(f"Sentence number {n} ends here." for n in range(40))
    chunks = split_text(text, 200)
    assert all(len(chunk) <= 200 for chunk in chunks)
    assert all(chunk.endswith(".") for chunk in chunks)
    assert " ".join(chunks) == text


def test_chinese_without_spaces_splits_at_sentence_ends_within_the_byte_limit() -> None:
    text = "退货请在签收后七天内申请。" * 100
    chunks = split_text(text, 2048, measure=utf8_len)
    assert all(utf8_len(chunk) <= 2048 for chunk in chunks)
    assert all(chunk.endswith("。") for chunk in chunks)
    assert "".join(chunks) == text


def test_blank_text_gives_no_chunks_and_one_long_word_is_cut_hard() -> None:
    assert split_text("  \n ", 100) == []
    assert split_text("x" * 250, 100) == ["x" * 100, "x" * 100, "x" * 50]


def test_sources_line_names_at_most_three_distinct_titles() -> None:
    cites = [Citation("a", "Returns"), Citation("a", "Returns"), Citation("b", "Shipping", "EU")]
    cites += [Citation("c", "Warranty"), Citation("d", "Invoices")]
    assert sources_line(cites, "en") == ("Sources: Returns; Shipping › EU; Warranty")
    assert sources_line([], "en") is None
