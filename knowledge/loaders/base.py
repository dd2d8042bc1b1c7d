"""What a loader produces, and the checks every source file goes through first."""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

from core.errors import LoaderError

TEXT_ENCODINGS = ("utf-8-sig", "gb18030")
"""Tried in order: UTF-8 (with or without BOM), then the Chinese national standard encoding,
which also covers GBK and GB2312 files exported by older Windows tools."""

BINARY_SNIFF_BYTES = 8192


@dataclass(slots=True, frozen=True)
class Section:
    """A run of text under one heading (or one PDF page, or one corpus record)."""

    text: str
    heading: str | None = None
    title: str | None = None
    """Overrides the document title (corpus records carry their own)."""
    doc_id: str | None = None


@dataclass(slots=True, frozen=True)
class FaqEntry:
    """One curated question with its answer."""

    question: str
    answer: str
    faq_id: str | None = None
    category: str | None = None
    language: str | None = None
    alternatives: tuple[str, ...] = ()
    """Other ways customers ask the same question (相似问), matched like ``question``."""


@dataclass(slots=True, frozen=True)
class LoadedSource:
    """Everything one source file contributes to the knowledge base."""

    source: str
    """Path relative to the folder it was found in, with ``/`` separators."""
    title: str
    sections: tuple[Section, ...] = ()
    faqs: tuple[FaqEntry, ...] = ()
    skipped: tuple[str, ...] = ()
    """Entries left out, with why (duplicated FAQ questions, empty rows, malformed lines)."""


def check_size(path: Path, max_bytes: int) -> int:
    """Returns the file size, refusing empty and oversized files.

    Raises:
        LoaderError: The file is missing, empty or larger than ``max_bytes``.
    """
    try:
        size = path.stat().st_size
    except OSError as error:
        raise LoaderError(f"cannot read file: {error.strerror or error}") from error
    if size == 0:
        raise LoaderError("file is empty")
    if size > max_bytes:
        raise LoaderError(
            f"file is {size / 1_048_576:.1f} MB, over the {max_bytes / 1_048_576:.0f} MB limit"
        )
    return size


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """Reads a whole file after :func:`check_size`."""
    check_size(path, max_bytes)
    try:
        return path.read_bytes()
    except OSError as error:
        raise LoaderError(f"cannot read file: {error.strerror or error}") from error


def decode_text(data: bytes) -> str:
    """Decodes a text file: UTF-16 by BOM, else UTF-8, else GB18030.

    Raises:
        LoaderError: The bytes look binary or fit none of the encodings.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise LoaderError("invalid UTF-16 text") from error
    if b"\x00" in data[:BINARY_SNIFF_BYTES]:
        raise LoaderError("binary content in a text file")
    for encoding in TEXT_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise LoaderError("text is neither UTF-8 nor GB18030; save it as UTF-8")


def read_text(path: Path, max_bytes: int) -> str:
    """Reads and decodes a text file, refusing one with no visible text.

    Raises:
        LoaderError: See :func:`check_size` and :func:`decode_text`; or no text at all.
    """
    text = decode_text(read_bytes(path, max_bytes)).replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise LoaderError("file has no text")
    return text


def first_line_title(text: str, fallback: str) -> str:
    """The first non-empty line, shortened, else ``fallback``."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped:
            return stripped[:120]
    return fallback
