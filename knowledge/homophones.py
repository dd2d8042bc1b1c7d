"""A customer's Chinese typing slips, corrected to the knowledge base's own words.

Pinyin input puts a character that sounds the same in place of the right one: 七天无里由退货
(理由), 退宽几天到帐 (退款, 到账), 保休多久 (保修). The slip is no longer a word, so jieba (without
its guessing of new words) leaves its characters single; where a run of such single
characters sounds like a word of the knowledge base (pinyin without tones, ``pypinyin``) and
differs from it in exactly one character, the word replaces them (for two characters, only
when one of them is not a common word on its own: see :data:`COMMON_CHARACTER`). Two-character words
the knowledge base has but jieba's dictionary does not (odd cuts) are never targets, and characters
jieba reads as part of a word are never touched, so 能改成公司的吗 stays as it is.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping

import jieba
from pypinyin import lazy_pinyin

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
_LENGTHS = (4, 3, 2)
COMMON_CHARACTER = 10_000
"""jieba's dictionary count above which a character is a common word on its own (是 797k, 和
556k, 才 55k, 连 23k; 宽 9k, 帐 3k, 休 2k). Two such characters side by side are most likely
just two words (老是 is not a slip for 老师, 连上 not for 脸上), so a two-character slip needs
one uncommon character; three or four characters that sound like a word and differ in one
(无里由) are a slip whatever the characters."""


class Homophones:
    """Corrects Chinese slips against one knowledge base's words.

    Args:
        words: the knowledge base's words and in how many chunks each appears (other words
            are ignored).
    """

    def __init__(self, words: Mapping[str, int]) -> None:
        self._frequency = {
            word: count
            for word, count in words.items()
            if len(word) in _LENGTHS
            and _CJK_RUN.fullmatch(word)
            and (len(word) > 2 or jieba.dt.FREQ.get(word))
        }
        self._by_sound: dict[tuple[str, ...], list[str]] = defaultdict(list)
        for word in sorted(self._frequency):
            self._by_sound[tuple(lazy_pinyin(word))].append(word)

    def correct(self, text: str) -> str:
        """``text`` with each slip replaced by the knowledge base's word it sounds like."""
        if not self._by_sound:
            return text
        return _CJK_RUN.sub(lambda match: self._run(match.group()), text)

    def _run(self, run: str) -> str:
        parts: list[str] = []
        loose: list[str] = []  # consecutive characters jieba found in no word
        for token in [*jieba.lcut(run, HMM=False), ""]:
            if len(token) == 1:
                loose.append(token)
                continue
            parts.append(self._loose("".join(loose)))
            parts.append(token)
            loose = []
        return "".join(parts)

    def _loose(self, chars: str) -> str:
        fixed: list[str] = []
        start = 0
        while start < len(chars):
            for length in _LENGTHS:
                word = self._sounds_like(chars[start : start + length])
                if word is not None:
                    fixed.append(word)
                    start += length
                    break
            else:
                fixed.append(chars[start])
                start += 1
        return "".join(fixed)

    def _sounds_like(self, chars: str) -> str | None:
        if len(chars) < min(_LENGTHS):
            return None
        if len(chars) == 2 and all(jieba.dt.FREQ.get(c, 0) > COMMON_CHARACTER for c in chars):
            return None
        candidates = [
            word
            for word in self._by_sound.get(tuple(lazy_pinyin(chars)), ())
            if len(word) == len(chars) and _differences(word, chars) == 1
        ]
        return max(candidates, key=self._frequency.__getitem__, default=None)


def _differences(word: str, chars: str) -> int:
    return sum(a != b for a, b in zip(word, chars, strict=True))
