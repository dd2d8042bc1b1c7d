"""Source file loaders: one function per format, chosen by file extension.

Every loader returns a :class:`LoadedSource` or raises :class:`core.errors.LoaderError` with a
reason an admin can act on; a batch records the failure and goes on with the other files.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from core.errors import LoaderError
from knowledge.loaders.base import FaqEntry, LoadedSource, Section
from knowledge.loaders.documents import (
    load_docx,
    load_html,
    load_markdown,
    load_pdf,
    load_plain_text,
)
from knowledge.loaders.faq import load_csv, load_json, load_xlsx

__all__ = [
    "LOADERS",
    "FaqEntry",
    "LoadedSource",
    "Section",
    "discover_files",
    "is_supported",
    "load_source",
    "source_name",
]

Loader = Callable[[Path, str, int], LoadedSource]

LOADERS: dict[str, Loader] = {
    ".txt": load_plain_text,
    ".text": load_plain_text,
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
    ".docx": load_docx,
    ".csv": load_csv,
    ".tsv": load_csv,
    ".xlsx": load_xlsx,
    ".json": load_json,
    ".jsonl": load_json,
}


def is_supported(path: Path) -> bool:
    """Whether a loader exists for the file's extension (and it is not a hidden/lock file)."""
    name = path.name
    if name.startswith((".", "~$")):
        return False
    return path.suffix.lower() in LOADERS


def discover_files(folder: Path, exclude: Sequence[str] = ()) -> Iterator[Path]:
    """Supported files under ``folder``, recursively, in a stable order.

    Args:
        folder: Where to look.
        exclude: File name patterns to leave out (``fnmatch`` style, e.g. ``README*``).

    Files inside hidden folders (``.git``) are skipped.
    """
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).parts
        if any(part.startswith(".") for part in relative[:-1]):
            continue
        if any(fnmatch.fnmatchcase(path.name, pattern) for pattern in exclude):
            continue
        if path.is_file() and is_supported(path):
            yield path


def source_name(path: Path, roots: Sequence[Path]) -> tuple[str, Path]:
    """Names a file by its path relative to the first root that contains it.

    Returns:
        ``(source, root)``; a file outside every root is named by its file name alone and
        its parent folder is the root.
    """
    resolved = path.resolve()
    for root in roots:
        try:
            return resolved.relative_to(root.resolve()).as_posix(), root.resolve()
        except ValueError:
            continue
    return resolved.name, resolved.parent


def load_source(path: Path, source: str, max_bytes: int) -> LoadedSource:
    """Loads one file with the loader for its extension.

    Args:
        path: The file.
        source: Its name in the knowledge base (see :func:`source_name`).
        max_bytes: Larger files are refused.

    Raises:
        LoaderError: Unsupported extension or a file that cannot be parsed.
    """
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise LoaderError(f"unsupported file type {path.suffix or '(none)'}")
    return loader(path, source, max_bytes)
