"""Short follow-ups ("那换货呢?", "what about laptops?") are read with the previous question."""

from __future__ import annotations

import re

from core.text import Language

_ZH_MARKERS = ("那", "呢", "还有", "如果", "那么", "这个", "它")
_EN_MARKERS = re.compile(
    r"^(and|what about|how about|also|and if|what if|then|but)\b|\b(it|that|this|those)\b",
    re.IGNORECASE,
)
MAX_ZH_CHARS = 12
MAX_EN_WORDS = 7


def is_follow_up(text: str, language: Language) -> bool:
    """True when ``text`` is short and leans on an earlier turn to make sense."""
    stripped = text.strip()
    if language == "zh":
        return len(stripped) <= MAX_ZH_CHARS and any(m in stripped for m in _ZH_MARKERS)
    words = stripped.split()
    return len(words) <= MAX_EN_WORDS and bool(_EN_MARKERS.search(stripped))


def contextual_query(previous_question: str, text: str) -> str:
    """The question to retrieve with when ``text`` follows up ``previous_question``."""
    return f"{previous_question} {text}"
