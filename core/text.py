"""Small text helpers shared by every room: language detection and input sanitising."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from typing import Literal, TypeAlias

Language: TypeAlias = str
"""A language code the text catalog has (``zh``, ``en``, ``ja``...). Detection from the text
yields ``zh`` or ``en``; a platform's locale may name another language the catalog has."""

DETECTED = ("zh", "en")
"""The languages :func:`detect_language` tells apart from the text alone."""

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


def turn_language(
    text: str,
    *,
    previous: str | None = None,
    locale: str | None = None,
    available: Collection[str] = DETECTED,
) -> Language:
    """The language a turn is answered in, decided once per turn.

    The text decides between Chinese and English; a text without words of its own
    ("DD20241101", "5") keeps the language of the customer's previous message. A platform
    locale (Telegram's ``language_code``, e.g. ``ja`` or ``pt-BR``) names the language when the
    catalog has it and the text cannot show it: it is neither zh nor en, or the text has no
    words and there is no previous message.

    Args:
        text: the customer's message.
        previous: the customer's previous message in this conversation, if any.
        locale: the language the customer's platform reports, if any.
        available: the languages the text catalog has.
    """
    hinted = (locale or "").replace("_", "-").split("-")[0].lower()
    if hinted in available and hinted not in DETECTED:
        return hinted
    fallback = detect_language(previous) if previous is not None else None
    if fallback is None and hinted in available:
        fallback = hinted
    return detect_language(text, default=fallback or "en")


def prompt_language(language: Language) -> Literal["zh", "en"]:
    """The language of the LLM prompts used for a customer's language.

    The prompts (``knowledge/prompts.py``) are written in Chinese and English; a customer in
    another catalog language gets the English ones.
    """
    return "zh" if language == "zh" else "en"
