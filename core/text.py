"""Small text helpers shared by every room: language detection and input sanitising."""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

Language = Literal["zh", "en"]

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"\b[A-Za-z]{2,}\b")
"""Whole words only: an order number such as DD20241101 says nothing about the language."""


def detect_language(text: str, default: Language = "en") -> Language:
    """Chinese when the text has more CJK characters than Latin words, else English.

    Customers mix languages ("我的 order 到哪了"); the character count decides because a
    Chinese sentence with one English product name is still a Chinese sentence.
    """
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN_WORD.findall(text))
    if cjk == 0 and latin == 0:
        return default
    return "zh" if cjk >= latin else "en"


def clean_text(text: str) -> str:
    """Removes control characters (keeping newlines and tabs) and unpaired surrogates.

    Returns the text stripped of surrounding whitespace; it may be empty.
    """
    kept = []
    for char in text:
        if char in "\n\t":
            kept.append(char)
            continue
        category = unicodedata.category(char)
        if category in ("Cc", "Cs", "Cf") and char not in "\u200d":
            continue
        kept.append(char)
    return "".join(kept).strip()


def pick(language: Language, zh: str, en: str) -> str:
    """The Chinese or the English wording, by the customer's language."""
    return zh if language == "zh" else en
