"""Pure rules: does this message ask for a human, cancel the handoff, or rate the service?"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from bot.handoff.records import Reason
from core.config.handoff import HandoffTriggers

_EDGE_PUNCTUATION = " \t\r\n.,!?;:~…。，！？；：、～\"'“”‘’()（）[]【】"
_CJK = re.compile(r"[\u3400-\u9fff]")
_ZH_NEGATION = ("不", "别", "没", "勿")
_EN_NEGATION = re.compile(r"\b(not|no|never|don't|dont|doesn't|won't)\b[\w\s']{0,20}$")
_ABOUT_THE_SERVICE = re.compile(
    r"几点|什么时候|啥时候|(上班|工作|服务|营业|在线)时间|上班|下班|上线|下线"
    r"|\bwhat time\b|\bwhen (are|is|do|does)\b|\bhours\b|\bavailable\b"
)
"""A question about the human service itself: when it can be reached."""
_PUT_ME_THROUGH = re.compile(
    r"转|找|要|接通|帮我|\b(i want|i need|i'd like|let me|can i|could i|connect|transfer|put me)\b"
)
"""Words that ask to be put through even inside such a question ("我要人工客服，几点能接通")."""
_RATING = re.compile(r"^([1-5])\s*(分|星|颗星|stars?|/\s*5)?$")
_STARS = re.compile(r"^[★⭐]{1,5}$")


def normalise(text: str) -> str:
    """Lower case, full-width folded, surrounding punctuation and extra spaces removed."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return " ".join(folded.split()).strip(_EDGE_PUNCTUATION)


def asks_for_human(text: str, triggers: HandoffTriggers) -> bool:
    """True when the customer asks for a person ("转人工", "talk to a human", "人工").

    Phrases count anywhere in the message unless negated just before ("不用转人工",
    "I don't want to talk to a human"); single words count only as the whole message. A
    question about the human service's hours ("人工客服晚上几点下线", "what time do live agents
    start?") is answered from the knowledge base unless it also asks to be put through.
    """
    message = normalise(text)
    if not message:
        return False
    if message in {normalise(word) for word in triggers.request_words}:
        return True
    if _ABOUT_THE_SERVICE.search(message) and not _PUT_ME_THROUGH.search(message):
        return False
    return any(_contains_phrase(message, normalise(p)) for p in triggers.request_phrases if p)


def is_cancel(text: str, cancel_words: Sequence[str]) -> bool:
    """True when the whole message is a cancel word ("算了", "cancel"): "取消订单" is not."""
    return normalise(text) in {normalise(word) for word in cancel_words}


def parse_rating(text: str) -> int | None:
    """A 1-5 satisfaction score from "4", "４", "5分", "5 stars", "4/5" or "★★★", else None."""
    message = normalise(text)
    if _STARS.match(message):
        return len(message)
    match = _RATING.match(message)
    return int(match.group(1)) if match else None


def escalation_reason(
    text: str,
    triggers: HandoffTriggers,
    *,
    intent: str | None,
    frustrated: bool,
    last_answers: Sequence[str],
) -> Reason | None:
    """Which trigger, if any, hands this message to a human (first match wins).

    The failed-answers rule looks back only: when the bot's last ``failed_answers`` replies
    were all failures, this next message goes to a human rather than risking a third
    "I don't know" (unless it is small talk such as "thanks").
    """
    if triggers.customer_request and asks_for_human(text, triggers):
        return Reason.CUSTOMER_REQUEST
    if triggers.complaint and intent is not None and intent in triggers.complaint_intents:
        return Reason.COMPLAINT
    if triggers.frustration and frustrated:
        return Reason.FRUSTRATION
    if _failed_in_a_row(triggers, last_answers) and intent not in triggers.not_a_question_intents:
        return Reason.FAILED_ANSWERS
    return None


def _failed_in_a_row(triggers: HandoffTriggers, last_answers: Sequence[str]) -> bool:
    needed = triggers.failed_answers
    if needed <= 0 or len(last_answers) < needed:
        return False
    return all(kind in triggers.failure_kinds for kind in last_answers[-needed:])


def _contains_phrase(message: str, phrase: str) -> bool:
    if not phrase:
        return False
    if _CJK.search(phrase):
        start = message.find(phrase)
        while start != -1:
            before = message[max(0, start - 2) : start]
            if not any(negation in before for negation in _ZH_NEGATION):
                return True
            start = message.find(phrase, start + 1)
        return False
    for match in re.finditer(rf"(?<![\w]){re.escape(phrase)}(?![\w])", message):
        if not _EN_NEGATION.search(message[: match.start()]):
            return True
    return False
