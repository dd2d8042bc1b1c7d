"""Short follow-ups ("那换货呢?", "what about laptops?") are read with the previous question."""

from __future__ import annotations

import re
from collections.abc import Collection

from bot.dialogue.scope import holds_its_characters, mentions, names_no_subject, subject_words
from core.text import Language
from knowledge.types import Passage

_ZH_MARKERS = ("那", "呢", "还有", "如果", "那么", "这个", "它")
_EN_OPENERS = re.compile(
    r"^(and|what about|how about|also|and if|what if|then|but)\b", re.IGNORECASE
)
_EN_POINTERS = re.compile(r"\b(it|that|this|those|these|they|them)\b", re.IGNORECASE)
MAX_ZH_CHARS = 12
MAX_EN_WORDS = 7
MAX_EN_WORDS_LEANING = 10
"""A longer question that opens with "and ..." may still lean on the last one ("and when do
they show up in my account?"), or may be a new one ("and can I get a company invoice for
it?"): see :func:`may_follow_up`."""


def is_follow_up(text: str, language: Language) -> bool:
    """True when ``text`` is short and leans on an earlier turn to make sense: it points back
    ("那换货呢", "and for laptops?") or asks how long, when or how much without saying of
    what ("多少钱", "how long does it take?")."""
    stripped = text.strip()
    if not is_short(stripped, language):
        return False
    if language == "zh":
        return any(m in stripped for m in _ZH_MARKERS) or names_no_subject(stripped)
    return _leans_back(stripped) or names_no_subject(stripped)


def is_short(text: str, language: Language) -> bool:
    """Short enough to lean on an earlier turn (:data:`MAX_ZH_CHARS`, :data:`MAX_EN_WORDS`)."""
    stripped = text.strip()
    if language == "zh":
        return len(stripped) <= MAX_ZH_CHARS
    return len(stripped.split()) <= MAX_EN_WORDS


def may_follow_up(text: str, language: Language) -> bool:
    """True for an English question of up to :data:`MAX_EN_WORDS_LEANING` words that opens
    with "and ..." or points back ("they", "it"): a follow-up when it finds nothing sure on
    its own, a new question when it does."""
    stripped = text.strip()
    if language == "zh" or len(stripped.split()) > MAX_EN_WORDS_LEANING:
        return False
    return _leans_back(stripped)


def _leans_back(text: str) -> bool:
    return bool(_EN_OPENERS.search(text) or _EN_POINTERS.search(text))


def contextual_query(previous_question: str, text: str) -> str:
    """The question to retrieve with when ``text`` follows up ``previous_question``."""
    return f"{previous_question} {text}"


def goes_on_with(follow_up: str, previous: str, entry: Passage, quoted: Collection[str]) -> bool:
    """Does a short question read with the previous one (``previous``) go on with ``entry``,
    found that way? Either the entry is one the previous answer quoted (``quoted``) and the
    question shares a word with it ("how many days after buying?" after the price-protection
    answer), or the question names nothing itself and the entry is about the previous question
    and holds the question's one-character words: "能退吗" after "礼品卡有哪些面额" is the entry
    saying gift cards cannot be returned."""
    if subject_words(follow_up):
        return entry.chunk_id in quoted and mentions(follow_up, entry)
    return mentions(previous, entry) and holds_its_characters(follow_up, entry)
