"""Dates in Chinese and English messages, absolute ("2024-11-01", "11月1日", "Nov 1") and
relative to the customer's today ("昨天", "3天前", "上周五", "上上周五", "yesterday",
"last friday")."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

from bot.dialogue.numbers import CN_NUMERAL_CHARS, parse_number

_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_MONTH = (
    r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)(?![a-z])\.?"
)
_WEEKDAYS_ZH = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_WEEKDAYS_EN = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_RELATIVE_DAYS = {
    "大前天": -3,
    "前天": -2,
    "昨天": -1,
    "昨日": -1,
    "今天": 0,
    "今日": 0,
    "明天": 1,
    "后天": 2,
    "the day before yesterday": -2,
    "yesterday": -1,
    "today": 0,
    "tomorrow": 1,
}
_NUM = rf"(\d+|[{CN_NUMERAL_CHARS}]+)"

_ISO = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_ZH_FULL = re.compile(rf"(?<!\d)(\d{{4}})\s*年\s*{_NUM}\s*月\s*{_NUM}\s*[日号]")
_ZH_MONTH_DAY = re.compile(rf"(?<![\d年]){_NUM}\s*月\s*{_NUM}\s*[日号]")
_EN_MONTH_DAY = re.compile(
    rf"(?<![a-z]){_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?(?!\d)(?:,?\s+(\d{{4}}))?(?![a-z0-9])"
    r"(?!\s*(?:weeks?|days?|hours?|minutes?|months?|years?|times?|items?|more)(?![a-z]))"
)
_EN_DAY_MONTH = re.compile(
    rf"(?<![a-z0-9])(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:,?\s+(\d{{4}}))?(?![a-z0-9])"
)
_RELATIVE = re.compile(
    "|".join(re.escape(word) for word in sorted(_RELATIVE_DAYS, key=len, reverse=True))
)
_DAYS_AGO = re.compile(rf"{_NUM}\s*天前|(?<![a-z0-9])(\d+)\s+days?\s+ago(?![a-z])")
_LAST_WEEKDAY_ZH = re.compile(r"(上+)(?:周|星期|礼拜)([一二三四五六日天])")
_LAST_WEEKDAY_EN = re.compile(rf"(?<![a-z])last\s+({'|'.join(_WEEKDAYS_EN)})(?![a-z])")


def _number(text: str) -> int | None:
    value = parse_number(text)
    return None if value is None else int(value)


def _make_date(year: int | None, month: int | None, day: int | None) -> date | None:
    if year is None or month is None or day is None:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _absolute(match: re.Match[str], today: date | None) -> date | None:
    pattern = match.re
    groups = match.groups()
    this_year = today.year if today else None
    if pattern is _ISO or pattern is _ZH_FULL:
        return _make_date(int(groups[0]), _number(groups[1]), _number(groups[2]))
    if pattern is _ZH_MONTH_DAY:
        return _make_date(this_year, _number(groups[0]), _number(groups[1]))
    if pattern is _EN_MONTH_DAY:
        month, day, year = _MONTHS[groups[0][:3]], int(groups[1]), groups[2]
    else:
        day, month, year = int(groups[0]), _MONTHS[groups[1][:3]], groups[2]
    return _make_date(int(year) if year else this_year, month, day)


def _relative(match: re.Match[str], today: date | None) -> date | None:
    if today is None:
        return None
    pattern = match.re
    if pattern is _RELATIVE:
        return today + timedelta(days=_RELATIVE_DAYS[match.group(0)])
    if pattern is _DAYS_AGO:
        days = _number(match.group(1) or match.group(2))
        return None if days is None else today - timedelta(days=days)
    if pattern is _LAST_WEEKDAY_ZH:
        # "上周五" is Friday of last week, "上上周五" the week before.
        monday = today - timedelta(days=today.weekday() + 7 * len(match.group(1)))
        return monday + timedelta(days=_WEEKDAYS_ZH[match.group(2)])
    weekday = _WEEKDAYS_EN.index(match.group(1))
    back = (today.weekday() - weekday) % 7 or 7
    return today - timedelta(days=back)


_RULES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str], date | None], date | None]], ...] = (
    (_ISO, _absolute),
    (_ZH_FULL, _absolute),
    (_ZH_MONTH_DAY, _absolute),
    (_EN_MONTH_DAY, _absolute),
    (_EN_DAY_MONTH, _absolute),
    (_DAYS_AGO, _relative),
    (_LAST_WEEKDAY_ZH, _relative),
    (_LAST_WEEKDAY_EN, _relative),
    (_RELATIVE, _relative),
)


def find_dates(text: str, today: date | None, *, mask: str = "|") -> tuple[list[date], str]:
    """Dates in ``text`` (lower-cased, NFKC) in order of appearance, and the text with them
    masked.

    Args:
        text: normalised message text.
        today: the reference for relative dates and for dates written without a year; None
            skips both.
        mask: the character that replaces each match.
    """
    found: list[tuple[int, date]] = []
    for pattern, resolve in _RULES:
        for match in pattern.finditer(text):
            value = resolve(match, today)
            if value is None:
                continue
            found.append((match.start(), value))
            start, end = match.span()
            text = text[:start] + mask * (end - start) + text[end:]
    ordered = sorted(found, key=lambda pair: pair[0])
    return list(dict.fromkeys(value for _, value in ordered)), text
