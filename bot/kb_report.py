"""What ``kefu kb ingest|reload|stats`` print: readable tables, every skipped file and why."""

from __future__ import annotations

import fnmatch
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from knowledge.loaders import is_supported
from knowledge.types import IngestReport, SourceDetails


def skipped_files(paths: Iterable[Path], exclude: Sequence[str]) -> dict[str, str]:
    """Files inside the given folders that an ingest leaves out, and why.

    Hidden files and folders (``.git``) are left out without a word: they are never knowledge.
    """
    skipped: dict[str, str] = {}
    for folder in paths:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder).parts
            if not path.is_file() or any(part.startswith(".") for part in relative):
                continue
            pattern = next((p for p in exclude if fnmatch.fnmatchcase(path.name, p)), None)
            if pattern is not None:
                skipped[str(path)] = f"excluded by the pattern {pattern!r} (knowledge.exclude)"
            elif not is_supported(path):
                skipped[str(path)] = f"unsupported file type {path.suffix or '(none)'}"
    return skipped


def report_json(report: IngestReport, skipped: Mapping[str, str]) -> dict[str, Any]:
    """The report as one JSON object (``--json``)."""
    return {
        "added": report.added,
        "updated": report.updated,
        "deleted": report.deleted,
        "unchanged": report.unchanged,
        "chunks": report.chunks,
        "embedded": report.embedded,
        "failed": dict(report.failed),
        "skipped_files": dict(skipped),
        "skipped_entries": {k: list(v) for k, v in report.skipped.items()},
    }


def width(text: str) -> int:
    """Columns ``text`` takes in a terminal (Chinese characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table with aligned columns (CJK-aware)."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(width(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(
            c + " " * (w - width(c)) for c, w in zip(row, widths, strict=True)
        ).rstrip()

    return "\n".join([line(cells[0]), line(["-" * w for w in widths]), *map(line, cells[1:])])


def report_text(report: IngestReport, skipped: Mapping[str, str]) -> str:
    """Counts, then one row per file that failed or was skipped, then skipped entries."""
    counts = table(
        ["added", "updated", "deleted", "unchanged", "failed", "skipped", "chunks", "embedded"],
        [
            [
                report.added,
                report.updated,
                report.deleted,
                report.unchanged,
                len(report.failed),
                len(skipped),
                report.chunks,
                report.embedded,
            ]
        ],
    )
    parts = [counts]
    problems = [("failed", f, r) for f, r in sorted(report.failed.items())]
    problems += [("skipped", f, r) for f, r in sorted(skipped.items())]
    if problems:
        parts.append(table(["status", "file", "reason"], problems))
    entries = [
        (source, entry) for source, left_out in sorted(report.skipped.items()) for entry in left_out
    ]
    if entries:
        parts.append(table(["file", "entry left out"], entries))
    return "\n\n".join(parts)


def stats_rows(details: Sequence[SourceDetails]) -> list[list[object]]:
    rows: list[list[object]] = []
    for item in details:
        when = (
            datetime.fromtimestamp(item.modified, UTC).strftime("%Y-%m-%d %H:%M UTC")
            if item.modified is not None
            else "—"
        )
        rows.append([item.source, item.kind, item.chunks, when])
    return rows


def stats_text(summary: Mapping[str, object], details: Sequence[SourceDetails]) -> str:
    head = "\n".join(f"{name}: {value}" for name, value in summary.items())
    if not details:
        return (
            head + "\n\nThe knowledge base is empty: run `kefu kb reload` or `kefu kb ingest PATH`."
        )
    rows = stats_rows(details)
    return head + "\n\n" + table(["source", "type", "chunks", "file changed"], rows)
