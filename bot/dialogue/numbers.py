"""Numbers as customers write them: "1,299.50", "1.5万", "两百", "三千五"."""

from __future__ import annotations

import re

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_MYRIAD = {"万": 10_000, "亿": 100_000_000}

CN_NUMERAL_CHARS = "".join(_CN_DIGITS) + "".join(_CN_UNITS) + "".join(_CN_MYRIAD)
"""Characters of a Chinese numeral, for building regular expressions."""

_MULTIPLIERS = {"万": 10_000.0, "千": 1_000.0, "k": 1_000.0, "K": 1_000.0, "w": 10_000.0}
_ARABIC = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$|^\d+(?:\.\d+)?$")


def parse_chinese_number(text: str) -> int | None:
    """The value of a Chinese numeral such as "两百", "一千二百五十" or "三千五" (3500).

    Returns:
        The integer, or None when ``text`` is not a Chinese numeral.
    """
    if not text or any(ch not in CN_NUMERAL_CHARS for ch in text):
        return None
    total = 0
    section = 0
    digit: int | None = None
    last_unit = 1
    for char in text:
        if char in _CN_DIGITS:
            digit = _CN_DIGITS[char]
        elif char in _CN_UNITS:
            unit = _CN_UNITS[char]
            section += (1 if digit is None else digit) * unit
            digit, last_unit = None, unit
        else:
            myriad = _CN_MYRIAD[char]
            total += (section + (digit or 0)) * myriad
            section, digit, last_unit = 0, None, myriad
    if digit is not None:
        # Colloquial "三千五" means 3500: a trailing digit counts in the next lower unit.
        section += digit * (last_unit // 10 if last_unit >= 10 else 1)
    return total + section


def parse_number(text: str, multiplier: str | None = None) -> float | None:
    """An Arabic ("1,299.50") or Chinese ("两百") number, times an optional "万"/"千"/"k".

    Returns:
        The value, or None when ``text`` is neither kind of number.
    """
    value: float | None
    if _ARABIC.match(text):
        value = float(text.replace(",", ""))
    else:
        chinese = parse_chinese_number(text)
        value = None if chinese is None else float(chinese)
    if value is None:
        return None
    if multiplier:
        value *= _MULTIPLIERS.get(multiplier, 1.0)
    return value
