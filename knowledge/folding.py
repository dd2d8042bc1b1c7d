"""One folded form of text for every word comparison (BM25, coverage, the answer policy).

Width and case are folded (NFKC + casefold), and a Chinese count is written in digits:
customers type 七天 and 两年 where the policy says 7天 and 2年. A numeral becomes digits only
before a unit, so 一下, 一起, 统一 and 三星 stay words; "one" before a measure word (一台, 一张)
is an article more often than a count and stays too. The numeral's value comes from ``cn2an``;
which numerals to convert is ours.
"""

from __future__ import annotations

import re
import unicodedata

import cn2an

_NUMERAL = "零一二两三四五六七八九十百千万"
_TIME_OR_MONEY = (
    "个工作日|工作日|个小时|小时|分钟|个多月|个月|个星期|星期|天|日|周|年|元|块|岁|折|倍"
)
_MEASURE = "台|件|张|单|副|部|箱|寸|公斤|斤|克|米"
_ZH_COUNT = re.compile(
    rf"(?<![统万唯同之单专{_NUMERAL}])([{_NUMERAL}]+)(?=({_TIME_OR_MONEY}|{_MEASURE}))"
)
_MEASURES = frozenset(_MEASURE.split("|"))


def fold(text: str) -> str:
    """``text`` as every word comparison sees it: NFKC, casefolded, Chinese counts in digits."""
    return _ZH_COUNT.sub(_digits, unicodedata.normalize("NFKC", text).casefold())


def _digits(match: re.Match[str]) -> str:
    numeral, unit = match.group(1), match.group(2)
    try:
        value = int(cn2an.cn2an(numeral, "smart"))
    except (ValueError, KeyError):  # not a well-formed number ("万一"): leave the words
        return numeral
    if value == 1 and unit in _MEASURES:
        return numeral
    return str(value)
