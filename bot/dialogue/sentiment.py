"""A frustration signal per customer message, Chinese and English, without a model.

A lexicon of negative and positive words and phrases gives the base score; negation flips a
positive word ("not helpful", "不满意"); cues of a customer losing patience add to a negative
message: repeated "!!!" or "？？？", shouting in capitals, "I've asked three times", "又", "到底".
The score is squashed into [-1, 1]; a message at or below the frustration threshold is
"frustrated", which the handoff rules use as an escalation trigger.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

DEFAULT_FRUSTRATION_THRESHOLD = -0.5

_NEGATIVE = {
    # English
    "useless": 0.8,
    "terrible": 0.8,
    "awful": 0.8,
    "horrible": 0.8,
    "worst": 0.9,
    "ridiculous": 0.7,
    "unacceptable": 0.8,
    "angry": 0.7,
    "furious": 0.9,
    "annoyed": 0.6,
    "annoying": 0.6,
    "frustrated": 0.7,
    "frustrating": 0.7,
    "disappointed": 0.6,
    "disappointing": 0.6,
    "scam": 0.9,
    "rubbish": 0.8,
    "garbage": 0.8,
    "crap": 0.8,
    "wtf": 0.8,
    "damn": 0.5,
    "hate": 0.7,
    "stupid": 0.7,
    "sucks": 0.8,
    "pathetic": 0.8,
    "incompetent": 0.8,
    "never again": 0.8,
    "waste of time": 0.8,
    "waste": 0.5,
    "joke": 0.4,
    "broken": 0.4,
    "not working": 0.4,
    "doesn't work": 0.4,
    "still not": 0.5,
    "still haven't": 0.5,
    "still hasn't": 0.5,
    "nobody": 0.3,
    "fed up": 0.8,
    "sick of": 0.8,
    "complain": 0.4,
    "complaint": 0.4,
    "refund now": 0.5,
    # Chinese
    "垃圾": 0.9,
    "破": 0.5,
    "太差": 0.8,
    "很差": 0.7,
    "差劲": 0.8,
    "糟糕": 0.7,
    "失望": 0.6,
    "生气": 0.7,
    "气死": 0.9,
    "愤怒": 0.9,
    "投诉": 0.5,
    "骗子": 0.9,
    "骗人": 0.8,
    "坑": 0.6,
    "无语": 0.6,
    "恶心": 0.8,
    "烂": 0.4,  # 盒子烂了, 屏幕摔烂了: often the parcel's state, not the customer's mood
    "太烂": 0.8,
    "真烂": 0.7,
    "好烂": 0.7,
    "烂透": 0.9,
    "什么鬼": 0.7,
    "搞什么": 0.7,
    "受不了": 0.7,
    "不满意": 0.7,
    "不满": 0.6,
    "太慢": 0.5,
    "没用": 0.7,
    "废物": 0.9,
    "退钱": 0.5,
    "离谱": 0.7,
    "过分": 0.7,
    "怎么回事": 0.4,
    "还没": 0.3,
    "一直": 0.2,
    "不行": 0.4,
    "不好": 0.4,
    "不靠谱": 0.7,
    "态度恶劣": 0.9,
    "再也不": 0.8,
}
_POSITIVE = {
    "thanks": 0.4,
    "thank you": 0.5,
    "great": 0.5,
    "perfect": 0.6,
    "awesome": 0.6,
    "love": 0.5,
    "helpful": 0.5,
    "excellent": 0.6,
    "good": 0.3,
    "nice": 0.3,
    "appreciate": 0.5,
    "happy": 0.4,
    "satisfied": 0.4,
    "谢谢": 0.4,
    "感谢": 0.4,
    "满意": 0.5,
    "好评": 0.6,
    "太好了": 0.6,
    "不错": 0.5,
    "棒": 0.5,
    "赞": 0.5,
    "喜欢": 0.4,
    "解决了": 0.4,
    "辛苦": 0.3,
}
_NEGATORS_EN = re.compile(
    r"\b(not|never|no|isn't|wasn't|aren't|don't|didn't|hardly)\s+(?:\w+\s+)?$"
)
_NEGATORS_ZH = ("不", "没", "没有", "别")
_REPEAT_ZH = re.compile(r"第[二三四五六七八九十\d]+次|好几次|多少次|几次了|又|到底|还是没|三番五次")
_REPEAT_EN = re.compile(
    r"\b(again|(?:two|three|four|five|\d+|many|several) times|(?:second|third|fourth|fifth) time|"
    r"how many times|already (?:told|asked|said))\b"
)
_EXCLAIM = re.compile(r"[!！]{2,}|[?？][!！]|[!！][?？]")
_QUESTION_RUN = re.compile(r"[?？]{2,}")
_CAPS_WORD = re.compile(r"\b[A-Z]{3,}\b")
_WORD = re.compile(r"[A-Za-z']+")


def _lexicon_pattern(words: list[str]) -> re.Pattern[str]:
    parts = []
    for word in sorted(words, key=len, reverse=True):
        escaped = re.escape(word)
        parts.append(rf"\b{escaped}\b" if word[0].isascii() else escaped)
    return re.compile("|".join(parts))


_LEXICON = {**{w: -v for w, v in _NEGATIVE.items()}, **_POSITIVE}
_LEXICON_RE = _lexicon_pattern(list(_LEXICON))


@dataclass(slots=True, frozen=True)
class Sentiment:
    """``score`` runs from -1 (furious) to 1 (delighted); ``cues`` say what moved it."""

    score: float
    frustrated: bool
    cues: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {"score": self.score, "frustrated": self.frustrated, "cues": list(self.cues)}


def _negated(text: str, start: int) -> bool:
    before = text[max(0, start - 20) : start]
    if before.endswith(_NEGATORS_ZH):
        return True
    return bool(_NEGATORS_EN.search(before))


def _lexical(text: str) -> tuple[float, list[str]]:
    lowered = text.lower()
    total = 0.0
    cues = []
    for match in _LEXICON_RE.finditer(lowered):
        word = match.group(0)
        weight = _LEXICON[word]
        if weight > 0 and _negated(lowered, match.start()):
            weight, word = -weight, f"not {word}"
        total += weight
        cues.append(word)
    return total, cues


def _impatience(text: str) -> tuple[float, list[str]]:
    cues = []
    if _EXCLAIM.search(text):
        cues.append("exclamations")
    if _QUESTION_RUN.search(text):
        cues.append("repeated questions")
    words = _WORD.findall(text)
    capitals = _CAPS_WORD.findall(text)
    if len(capitals) >= 2 or (len(words) >= 2 and len(capitals) * 2 >= len(words) and capitals):
        cues.append("capitals")
    if _REPEAT_ZH.search(text) or _REPEAT_EN.search(text.lower()):
        cues.append("repetition")
    return -0.35 * len(cues), cues


def score_sentiment(
    text: str, *, frustration_threshold: float = DEFAULT_FRUSTRATION_THRESHOLD
) -> Sentiment:
    """Scores one message.

    Args:
        text: the customer's message, Chinese, English or mixed.
        frustration_threshold: scores at or below it are ``frustrated``.

    Returns:
        The score in [-1, 1], whether the customer sounds frustrated, and the cues found.
    """
    lexical, cues = _lexical(text)
    impatience, impatience_cues = _impatience(text)
    raw = lexical
    if lexical < 0 or impatience <= -0.7:
        # "Thanks!!" is enthusiasm; "!!" after a complaint (or with shouting) is not. One cue
        # alone is not a tone: "wrong password too many times" describes the account.
        raw += impatience
        cues.extend(impatience_cues)
    score = round(math.tanh(raw), 3)
    return Sentiment(score=score, frustrated=score <= frustration_threshold, cues=tuple(cues))
