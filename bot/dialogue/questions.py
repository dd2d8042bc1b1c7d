"""Two questions in one message ("手表保修多久，另外能开发票吗", "How long is the warranty, and
can I get an invoice?") are answered one by one: one knowledge answer blends them, and the
second question is lost.

A message is split only where a joiner (另外, 还有, 顺便问下, "also", "and" before a question word)
or a question mark separates two parts that are each a question; "我的耳机坏了，另外包装也破了，
能退吗" stays one question, because its first part asks nothing.
"""

from __future__ import annotations

import re

MAX_QUESTIONS = 3
"""More parts than this are read as one message (a long story, not a list of questions)."""
MIN_ZH_CHARS = 4
MIN_EN_WORDS = 3

QUESTION = re.compile(
    r"[?？吗呢]|哪|谁|什么|多少|多久|多长|几|怎么|如何|能否|是否|能不能|可不可以|是不是|有没有|"
    r"\b(do|does|did|can|could|is|are|will|would|should|where|what|which|who|how|when|why)\b",
    re.IGNORECASE,
)
"""Something in the text asks: a question mark or particle, or a question word."""

_EN_ASKS = (
    r"(?=(?:how\b|(?:what|which|where|when|who|why)(?:'s|\s+(?:is|are|was|do|does|did|can|will|"
    r"would|should))\b|(?:can|could|do|does|did|is|are|will|would|should)\s+(?:i|you|we|it|they|"
    r"my|the|your|there|this|that)\b))"
)
"""The start of an English question: "how ...", "what is ...", "can I ...", "is it ..."."""
_JOINERS = re.compile(
    r"[，,。；;：:\s]*(?:另外|还有就是|还有|顺便问一?下|顺便|再问一?下|还想问一?下|以及)[，,：:\s]*|"
    r"(?<=[?？])\s*|"
    rf"[,;.!]\s*(?:and\s+)?(?:also|plus|one more thing|another question)[,:]?\s+{_EN_ASKS}|"
    rf",?\s+and\s+{_EN_ASKS}",
    re.IGNORECASE,
)

_LEADING_JOINER = re.compile(r"^(?:and|also|plus)\b[,:]?\s*", re.IGNORECASE)


def is_question(text: str) -> bool:
    return bool(QUESTION.search(text))


def separate_questions(text: str) -> list[str]:
    """The questions of ``text`` in order; ``[text]`` when it asks one thing (or too many)."""
    parts = [_LEADING_JOINER.sub("", p.strip(" ，,。；;")) for p in _JOINERS.split(text)]
    parts = [p for p in parts if p]
    if not 2 <= len(parts) <= MAX_QUESTIONS or not all(_asks_something(p) for p in parts):
        return [text]
    return parts


def _asks_something(part: str) -> bool:
    """A question long enough to be answered on its own ("运费多少", not "真的吗")."""
    long_enough = (
        len(part.split()) >= MIN_EN_WORDS
        if part.isascii()
        else len(re.sub(r"\W", "", part)) >= MIN_ZH_CHARS
    )
    return long_enough and is_question(part)


_ASKED_FOR = {
    "duration": re.compile(
        r"\bhow (long|many (days|hours|weeks|months|years))\b|多久|多长时间|多长|几天|多少天|几个月"
        r"|几年|多少年|几周",
        re.IGNORECASE,
    ),
    "time": re.compile(r"\bwhen\b|\bwhat time\b|什么时候|啥时候|几点|哪天", re.IGNORECASE),
    "cost": re.compile(r"\bhow much\b|\bcost\b|多少钱|收费吗|贵不贵", re.IGNORECASE),
    "place": re.compile(r"\bwhere\b|哪里|哪儿|在哪", re.IGNORECASE),
}


def asked_for(text: str) -> frozenset[str]:
    """What kind of answer the question wants: a duration, a time, a cost, a place."""
    return frozenset(kind for kind, pattern in _ASKED_FOR.items() if pattern.search(text))


def without_asked_for(text: str) -> str:
    """``text`` without the words that say what kind of answer it wants ("how long", "多少钱")."""
    for pattern in _ASKED_FOR.values():
        text = pattern.sub(" ", text)
    return text
