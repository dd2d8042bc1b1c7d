"""Personal data redaction for exported datasets and the report's examples.

Replaces phone numbers, e-mail addresses, order numbers, ID card numbers and customer names
with placeholders (``[PHONE]``, ``[EMAIL]``...), and counts what was replaced per kind so the
dataset card can say so. Names are found from the customer's display name and from
self-introductions ("我叫张三", "my name is Anna Li"), then replaced everywhere in the example
(the agent's "张三您好" too).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

PLACEHOLDERS = {
    "name": "[NAME]",
    "email": "[EMAIL]",
    "order": "[ORDER]",
    "id_card": "[ID]",
    "phone": "[PHONE]",
}

# Order matters: e-mails and order numbers hold digits a phone pattern would also take.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email", re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")),
    ("order", re.compile(r"(?<![A-Za-z0-9])DD\d{8}(?!\d)", re.IGNORECASE)),
    ("id_card", re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")),
    # Chinese mobile numbers, with or without +86 and separators.
    ("phone", re.compile(r"(?<![\d+])(?:\+?86[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}(?!\d)")),
    # International numbers written with a leading +.
    ("phone", re.compile(r"(?<![\w+])\+\d{1,3}(?:[ -]?\(?\d{1,4}\)?){2,5}(?!\d)")),
    # (555) 123-4567 / 555-123-4567, but not company hotlines (400/800 numbers).
    ("phone", re.compile(r"(?<![\d-])(?!400|800)\(?\d{3}\)?[-. ]\d{3}[-. ]\d{4}(?![\d-])")),
)

_CJK = r"[\u4e00-\u9fff]"
# A name is 2-3 characters; stop before characters that start the rest of the sentence.
_CJK_NAME = rf"{_CJK}(?:(?![想要的在是我你请问买了吗呢啊有和从，。])" + _CJK + r"){1,2}"
_SELF_INTRODUCTIONS = (
    re.compile(rf"(?:我叫|我的名字是|我的名字叫|本人姓名)\s*({_CJK_NAME})"),
    re.compile(
        r"(?i:\bmy name is|\bmy name's|\bi am called|\bcall me)\s+"
        r"([A-Z][a-z]+(?:[ -][A-Z][a-z]+)?)"
    ),
)


@dataclass(slots=True)
class Redaction:
    """Redacted texts, in the order given, and how many items of each kind were replaced."""

    texts: list[str]
    counts: Counter[str] = field(default_factory=Counter)


def find_names(texts: Iterable[str]) -> set[str]:
    """Names people gave for themselves in ``texts`` ("我叫张三", "my name is Anna")."""
    names: set[str] = set()
    for text in texts:
        for pattern in _SELF_INTRODUCTIONS:
            names.update(match.group(1) for match in pattern.finditer(text))
    return names


def redact(texts: Sequence[str], *, names: Iterable[str] = ()) -> Redaction:
    """Replaces personal data in ``texts`` (e.g. every turn of one dataset example).

    Args:
        texts: the texts that belong together; a name found in one is removed from all.
        names: names known beforehand, such as the customer's display name.

    Returns:
        The redacted texts and the number of replacements per kind (``name``, ``email``,
        ``order``, ``id_card``, ``phone``).
    """
    known = {name.strip() for name in names if len(name.strip()) >= 2}
    known |= find_names(texts)
    result = Redaction(list(texts))
    for name in sorted(known, key=len, reverse=True):  # "Anna Li" before "Anna"
        pattern = _name_pattern(name)
        result.texts = [_substitute(pattern, "name", text, result.counts) for text in result.texts]
    for kind, pattern in _PATTERNS:
        result.texts = [_substitute(pattern, kind, text, result.counts) for text in result.texts]
    return result


def personal_data_kinds(text: str) -> set[str]:
    """Which kinds of personal data ``text`` seems to hold (for a reviewer's warning)."""
    return set(redact([text]).counts)


def _name_pattern(name: str) -> re.Pattern[str]:
    escaped = re.escape(name)
    if re.search(_CJK, name):
        return re.compile(escaped)
    return re.compile(rf"(?<!\w){escaped}(?!\w)", re.IGNORECASE)


def _substitute(pattern: re.Pattern[str], kind: str, text: str, counts: Counter[str]) -> str:
    replaced, count = pattern.subn(PLACEHOLDERS[kind], text)
    if count:
        counts[kind] += count
    return replaced
