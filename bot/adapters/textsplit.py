"""Reply layout shared by the platform adapters: splitting at a platform's size limit and the
"Sources" line, worded in the language the pipeline decided for the reply.

Adapters split *plain* text and add their markup afterwards, chunk by chunk, so a split can
never fall inside a tag or an entity.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from bot.texts import say
from bot.texts.language import language_for
from core.text import Language
from core.types import Citation, IncomingMessage

Measure = Callable[[str], int]

# Break candidates, best first. Each pattern matches the separator; the chunk ends after it.
_BREAKS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\n\s*\n"),  # paragraph
    re.compile(r"\n"),  # line
    re.compile(r"(?<=[.!?;:])\s+|(?<=[。！？；：…])"),  # sentence
    re.compile(r"\s+|(?<=[，、,])"),  # word or clause
    re.compile(r"(?<=[\u3000-\u9fff\uac00-\ud7af\uff00-\uffef])"),  # after a CJK character
)
_CJK = re.compile(r"[\u3400-\u9fff]")
_MAX_SOURCES = 3


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: how Telegram and Discord count characters."""
    return len(text.encode("utf-16-le")) // 2


def utf8_len(text: str) -> int:
    """Length in UTF-8 bytes: how WeCom counts message size."""
    return len(text.encode("utf-8"))


def split_text(text: str, limit: int, *, measure: Measure = len) -> list[str]:
    """Split ``text`` into chunks that each measure at most ``limit``.

    Prefers paragraph breaks, then line breaks, sentence ends, spaces and CJK character
    boundaries; a single "word" longer than ``limit`` (a long URL) is cut hard. Whitespace at
    the cut is dropped; empty chunks are never returned.

    Args:
        text: plain text, no markup.
        limit: the largest allowed ``measure`` of one chunk.
        measure: how the platform counts (``len``, :func:`utf16_len`, :func:`utf8_len`).

    Returns:
        The chunks in order; ``[]`` for blank text.

    Raises:
        ValueError: if ``limit`` is smaller than 4 (no room for one character in any encoding).
    """
    if limit < 4:
        raise ValueError(f"limit too small: {limit}")
    chunks: list[str] = []
    rest = text.strip()
    while rest:
        if measure(rest) <= limit:
            chunks.append(rest)
            break
        fit = _longest_fitting_prefix(rest, limit, measure)
        cut = _best_break(rest, fit)
        chunk, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        if chunk:
            chunks.append(chunk)
    return chunks


def _longest_fitting_prefix(text: str, limit: int, measure: Measure) -> int:
    """Largest ``n`` with ``measure(text[:n]) <= limit`` (measure grows with the prefix)."""
    low, high = 1, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if measure(text[:mid]) <= limit:
            low = mid
        else:
            high = mid - 1
    return low


def _best_break(text: str, fit: int) -> int:
    """Where to cut inside ``text[:fit]``: the last break of the best kind past half the room.

    Cutting at the start of a separator keeps sentence punctuation in the chunk (the sentence
    and CJK patterns match zero-width right after it) and leaves the whitespace to be dropped.
    """
    floor = fit // 2
    for pattern in _BREAKS:
        starts = [m.start() for m in pattern.finditer(text, 0, fit + 1) if floor < m.start()]
        if starts:
            return starts[-1]
    return fit


def sources_line(citations: Sequence[Citation], language: Language) -> str | None:
    """A short line naming where the answer came from, in the reply's language.

    Returns:
        ``"Sources: FAQ; Returns policy"`` / ``"来源：常见问题；退货政策"``, at most three
        distinct titles, or ``None`` when there is nothing to cite.
    """
    names: list[str] = []
    for citation in citations:
        name = citation.title or citation.source
        if citation.section and citation.section != name:
            name = f"{name} › {citation.section}"
        if name and name not in names:
            names.append(name)
    if not names:
        return None
    shown = names[:_MAX_SOURCES]
    titles = say("chat.list_separator", language).join(shown)
    return say("chat.sources_line", language, titles=titles)


def sorry_text(incoming: IncomingMessage) -> str:
    """What an adapter says when the pipeline itself failed, so a customer is never left
    without an answer."""
    return say("chat.sorry", language_for(incoming))
