"""Curated FAQ tables (.csv, .xlsx) and JSON/JSONL files (FAQ entries or corpus records)."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from core.errors import LoaderError
from knowledge.loaders.base import FaqEntry, LoadedSource, Section, check_size, read_text

COLUMN_ALIASES: Mapping[str, tuple[str, ...]] = {
    "question": ("question", "q", "query", "问题", "问", "标准问", "标准问题", "提问"),
    "answer": ("answer", "a", "response", "答案", "答", "回答", "回复", "标准答案"),
    "category": ("category", "topic", "分类", "类别", "类目", "主题"),
    "id": ("id", "faq_id", "编号", "序号"),
    "language": ("language", "lang", "语言"),
    "title": ("title", "标题"),
    "alternatives": (
        "alternatives",
        "alternative_questions",
        "similar_questions",
        "aliases",
        "相似问",
        "相似问题",
        "相似问法",
        "扩展问",
        "其他问法",
    ),
    "text": ("text", "content", "body", "正文", "内容"),
}
_ALIAS_TO_FIELD = {alias: name for name, aliases in COLUMN_ALIASES.items() for alias in aliases}
_TRAILING_PUNCT = re.compile(r"[\s?？!！。.,，~～]+$")
_ALTERNATIVE_SEPARATORS = re.compile(r"\s*(?:\n|\||｜|；|;)\s*")


def split_alternatives(cell: str, question: str = "") -> tuple[str, ...]:
    """The alternative phrasings in one cell ("a | b", one per line, or ";"-separated), without
    empty ones, repeats and the main question itself."""
    seen = {question_key(question)} if question else set()
    found: list[str] = []
    for part in _ALTERNATIVE_SEPARATORS.split(cell or ""):
        key = question_key(part)
        if key and key not in seen:
            seen.add(key)
            found.append(part.strip())
    return tuple(found)


def field_name(header: object) -> str | None:
    """Maps a column header (English or Chinese, any case) to our field name."""
    if header is None:
        return None
    key = unicodedata.normalize("NFKC", str(header)).strip().lower().replace(" ", "_")
    return _ALIAS_TO_FIELD.get(key)


def question_key(question: str) -> str:
    """How two questions are compared for duplicates: case, width and end punctuation ignored."""
    folded = unicodedata.normalize("NFKC", question).casefold()
    return _TRAILING_PUNCT.sub("", " ".join(folded.split()))


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


class FaqCollector:
    """Turns rows into FAQ entries, keeping the first of duplicated questions."""

    def __init__(self) -> None:
        self.entries: list[FaqEntry] = []
        self.records: list[Section] = []
        self.skipped: list[str] = []
        self._seen: dict[str, str] = {}

    def add_row(self, row: Mapping[str, str], where: str) -> None:
        question, answer = row.get("question", ""), row.get("answer", "")
        if not question and not answer and row.get("text"):
            self.records.append(
                Section(text=row["text"], title=row.get("title") or None, doc_id=row.get("id"))
            )
            return
        if not question or not answer:
            self.skipped.append(f"{where}: missing question or answer")
            return
        key = question_key(question)
        if key in self._seen:
            self.skipped.append(
                f"{where}: duplicated question {question[:60]!r} (kept {self._seen[key]})"
            )
            return
        self._seen[key] = where
        self.entries.append(
            FaqEntry(
                question=question,
                answer=answer,
                faq_id=row.get("id") or None,
                category=row.get("category") or None,
                language=row.get("language") or None,
                alternatives=split_alternatives(row.get("alternatives", ""), question),
            )
        )

    def result(self, source: str, title: str) -> LoadedSource:
        if not self.entries and not self.records:
            reason = "; ".join(self.skipped[:3]) or "no rows"
            raise LoaderError(f"no usable FAQ entries ({reason})")
        return LoadedSource(
            source=source,
            title=title,
            sections=tuple(self.records),
            faqs=tuple(self.entries),
            skipped=tuple(self.skipped),
        )


def _map_header(header: Sequence[object]) -> list[str | None]:
    fields = [field_name(cell) for cell in header]
    if "question" not in fields or "answer" not in fields:
        found = ", ".join(_cell(cell) for cell in header if _cell(cell)) or "none"
        raise LoaderError(
            f"no question/answer columns (accepted: question/answer or 问题/答案; found: {found})"
        )
    return fields


def _rows_to_collector(
    rows: Iterable[Sequence[object]], collector: FaqCollector, label: str
) -> None:
    iterator = iter(rows)
    header: list[str | None] | None = None
    for number, row in enumerate(iterator, start=1):
        if header is None:
            if not any(_cell(value) for value in row):
                continue
            header = _map_header(row)
            continue
        if not any(_cell(value) for value in row):
            continue
        mapped = {name: _cell(value) for name, value in zip(header, row, strict=False) if name}
        collector.add_row(mapped, f"{label}row {number}")
    if header is None:
        raise LoaderError("table has no header row")


def load_csv(path: Path, source: str, max_bytes: int) -> LoadedSource:
    """Loads an FAQ table from CSV (comma, semicolon or tab separated).

    Raises:
        LoaderError: Unreadable file or no question/answer columns.
    """
    text = read_text(path, max_bytes)
    header = text.lstrip().split("\n", 1)[0]
    delimiter = max(",;\t", key=header.count) if path.suffix.lower() != ".tsv" else "\t"
    collector = FaqCollector()
    try:
        _rows_to_collector(csv.reader(io.StringIO(text), delimiter=delimiter), collector, "")
    except csv.Error as error:
        raise LoaderError(f"malformed CSV: {error}") from error
    return collector.result(source, path.stem)


def load_xlsx(path: Path, source: str, max_bytes: int) -> LoadedSource:
    """Loads FAQ entries from every sheet of an Excel workbook that has question/answer columns.

    Raises:
        LoaderError: Not a valid workbook, or no sheet with question/answer columns.
    """
    import openpyxl

    check_size(path, max_bytes)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # zipfile.BadZipFile, InvalidFileException, KeyError
        raise LoaderError(f"not a valid .xlsx workbook: {error}") from error
    collector = FaqCollector()
    errors: list[str] = []
    try:
        for sheet in workbook.worksheets:
            rows = ([*row] for row in sheet.iter_rows(values_only=True))
            try:
                _rows_to_collector(rows, collector, f"{sheet.title} ")
            except LoaderError as error:
                errors.append(f"{sheet.title}: {error}")
    finally:
        workbook.close()
    if not collector.entries and errors:
        raise LoaderError("; ".join(errors))
    return collector.result(source, path.stem)


def _json_rows(path: Path, max_bytes: int, skipped: list[str]) -> list[tuple[str, object]]:
    text = read_text(path, max_bytes)
    if path.suffix.lower() == ".jsonl":
        rows: list[tuple[str, object]] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rows.append((f"line {number}", json.loads(line)))
            except json.JSONDecodeError as error:
                skipped.append(f"line {number}: invalid JSON ({error.msg})")
        return rows
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise LoaderError(f"invalid JSON at line {error.lineno}: {error.msg}") from error
    if isinstance(data, dict):
        data = next(
            (data[key] for key in ("faqs", "faq", "items", "data", "entries") if key in data),
            [data],
        )
    if not isinstance(data, list):
        raise LoaderError('JSON must be a list of objects or {"faqs": [...]}')
    return [(f"item {number}", item) for number, item in enumerate(data, start=1)]


def load_json(path: Path, source: str, max_bytes: int) -> LoadedSource:
    """Loads ``.json``/``.jsonl``: objects with question/answer (FAQ entries) or text (records).

    Records (``{"id", "text", "title"?}``, the retrieval corpus format) become document
    sections that keep their ``id``, so search hits map back to corpus ids.

    Raises:
        LoaderError: Invalid JSON, or no usable objects at all.
    """
    collector = FaqCollector()
    for where, item in _json_rows(path, max_bytes, collector.skipped):
        if not isinstance(item, dict):
            collector.skipped.append(f"{where}: not an object")
            continue
        mapped: dict[str, str] = {}
        for key, value in item.items():
            name = field_name(key)
            if name and name not in mapped and not isinstance(value, dict | list):
                mapped[name] = _cell(value)
        collector.add_row(mapped, where)
    return collector.result(source, path.stem)
