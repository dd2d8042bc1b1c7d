"""Which path a message takes: the knowledge base, or a dialogue action (orders, small talk,
recommendations).

The intent classifier sees words, not purpose: "退款到支付宝要几天" and "how long after my order
arrives can I return it" look like order intents because they mention refunds and orders, but
they ask about the policy and the knowledge base answers them. An order action is taken only
for a specific order of the customer: a number in the message, an order conversation under
way, or a status question about "my order/parcel". A recommendation needs a request for one
and something to recommend. A short follow-up ("那周六呢？") is read with the previous question
even when it looks like small talk.
"""

from __future__ import annotations

import dataclasses
import re

from bot.dialogue.followup import is_follow_up
from bot.dialogue.intent_catalog import IntentAction, IntentPrediction
from bot.dialogue.questions import is_question
from bot.dialogue.recommend import CATEGORY_WORDS
from bot.dialogue.session import Session
from bot.dialogue.slots import FRAME_KEY
from bot.dialogue.understanding import Understanding
from core.text import Language

ORDER_ACTIONS = frozenset({IntentAction.ORDER_STATUS, IntentAction.REFUND_REQUEST})
CHAT_ACTIONS = frozenset({IntentAction.GREETING, IntentAction.SMALL_TALK, IntentAction.GOODBYE})

_ZH_OWN = r"(我的|我买的|我下的|我那个|我这个|我家的|俺的)"
_ZH_THING = r"(订单|单子|快递|包裹|东西|货|手机|电脑|耳机|商品|宝贝)"
_ZH_STATUS = (
    r"(到哪|在哪|怎么还没|还没(到|发|收|送)|发货了?没|发了没|到了没|到了吗|什么时候(到|发)|"
    r"状态|进度|物流|查(一下|下)?)"
)
_ZH_OWN_ORDER = re.compile(
    rf"{_ZH_OWN}.{{0,6}}{_ZH_THING}.{{0,8}}{_ZH_STATUS}|"
    rf"(帮我|给我)?查(一下|下)?{_ZH_OWN}?(订单|快递|物流|包裹)(?!.*(怎么|如何|在哪里?看|在哪儿?看))"
)
_EN_THING = r"(order|package|parcel|delivery|stuff|items?|shipment|purchase|phone|laptop)"
_EN_OWN_ORDER = re.compile(
    rf"\b(where('s| is| are)?|status of|check on|track)\s+(my|our)\s+{_EN_THING}|"
    rf"\b(my|our)\s+{_EN_THING}\b.*\b(not|n't|never|yet|late|delayed|still|where|status|"
    rf"arriv\w*|shown up|show up|come)\b",
    re.IGNORECASE,
)
# "我要退款" / "I want a refund": the customer asks to act on an order of theirs (which one is
# asked next), not about the rules ("退款多久到账").
_OWN_REFUND = re.compile(
    r"^\s*(我|俺)?(现在)?(要|想|想要|需要|申请|帮我|给我)(办理?)?(一下)?(退款|退货|退钱|退掉)"
    r"[\s!！。.~～]*$|"
    r"\bi(?:'d| would)? (want|like|need|wish) (a refund|to (return|refund)|my money back)\b|"
    r"\bi'd like (a refund|to return)\b",
    re.IGNORECASE,
)
CHAT_CONFIDENCE = 0.5
"""A chat line (small talk, greeting, goodbye) only when the classifier thinks chat more likely
than not: real chat is classified with 0.98 and more, while a question it hesitates over is
better answered from the knowledge base (or with "don't know" and a human). An LLM that re-read
the unsure message has the last word."""
COMPLAINT_TONE = -0.3
"""A message this negative may be a complaint without saying so."""
_COMPLAINT = re.compile(
    r"投诉|举报|差评|太差|很差|垃圾|骗|坑人|气死|不满|态度|曝光|12315|消协|"
    r"\b(complain\w*|terrible|awful|worst|unacceptable|ridiculous|scam|rude|angry|furious|"
    r"disgusted|fed up)\b",
    re.IGNORECASE,
)
_EN_RULES_QUESTION = re.compile(
    r"^\s*(how (long|much|many|do|does|can|should)|can (i|you|my)|could (i|you|my)|"
    r"is it possible|do you|does|what (is|are) (your|the)|when can)\b",
    re.IGNORECASE,
)
_EN_HOW_DO_I = r"how (do|can|should) (i|we)"
_EN_WHAT_DO_I_DO = r"what (should|do|can) (i|we) do"
_HYPOTHETICAL = re.compile(
    rf"^\s*(if|what if|in case|suppose)\b|\b{_EN_WHAT_DO_I_DO} if\b|"
    r"^\s*(如果|假如|万一|要是)",
    re.IGNORECASE,
)
"""A question about what would happen ("if my order arrives damaged what should I do"): the
rules answer it, not a look at one order."""
_EN_STATUS = re.compile(
    r"\b(where('s| is| are)|status|has(n't| not)|have(n't| not)|not (arrived|here|come)|"
    r"still (not|waiting)|shown? up)\b",
    re.IGNORECASE,
)
_EN_ASKS_US = re.compile(
    r"\b((can|could|would|will) you (please )?(check|track|look up|look into|find|see|tell me)|"
    r"do you know)\b",
    re.IGNORECASE,
)
"""Asks the bot to look ("can you check where my order is"), not how to look ("can I ...")."""
_HOW_TO = re.compile(rf"怎么|如何|\b{_EN_HOW_DO_I}\b", re.IGNORECASE)
_WHAT_TO_DO = re.compile(
    r"怎么(办|处理|弄|申请|退|换|修|赔)|咋(办|整|弄)|如何|"
    rf"\b({_EN_HOW_DO_I}|{_EN_WHAT_DO_I_DO})\b",
    re.IGNORECASE,
)
"""Asking for a procedure, not "怎么回事" (what is going on), which is part of a complaint."""
_RECOMMEND = re.compile(
    r"推荐|介绍.{0,4}(款|个)|买哪|选哪|哪款|哪个好|有什么好|适合|"
    r"\b(recommend|suggest|which .{0,20}(buy|get|choose)|what .{0,20}should i (buy|get)|"
    r"best .{0,20}for|looking for an?)\b",
    re.IGNORECASE,
)
_ABOUT_THE_COMPANY = re.compile(
    r"你们|贵(公司|司|店)|公司|总部|老板|员工|"
    r"\b(your|the) (company|ceo|boss|owner|founder|headquarters|head office|offices?|staff|"
    r"employees|team)\b|\bwhere are you (based|located)\b|"
    r"\b(do|can|will|would) you (guys )?(take|accept|sell|ship|deliver|offer|support|provide|"
    r"carry|stock|repair|fix|install|price match)\b",
    re.IGNORECASE,
)
"""A question about the company rather than about the bot ("你们总部在哪", "what's your
CEO's name", "do you take bitcoin?": the shop's services): the knowledge base answers it or
says it does not know and offers a human; the chat line ("I'm the support bot ...") answers
nothing."""
_GREETING_ONLY = re.compile(
    r"^\s*(hi|hello|hey|你好|您好|哈喽|嗨|在吗|在不在|早上好|晚上好)[\s!！,，.。~～]*"
    r"(there|guys|在吗|啊|呀)?[\s!！?？,，.。~～]*$",
    re.IGNORECASE,
)


def asks_about_own_order(text: str, language: Language) -> bool:
    """Is this a status question about one of the customer's own orders ("我买的东西到哪了",
    "where's my parcel"), rather than a question about the rules ("how long after my order
    arrives can I return it")?"""
    if _OWN_REFUND.search(text):
        return True
    if _HYPOTHETICAL.search(text):
        return False
    if language == "zh":
        return bool(_ZH_OWN_ORDER.search(text))
    if not _EN_OWN_ORDER.search(text):
        return False
    rules = _EN_RULES_QUESTION.search(text) and not _EN_ASKS_US.search(text)
    return not rules or bool(_EN_STATUS.search(text))


def wants_recommendation(text: str) -> bool:
    """Asks for a product suggestion and names something the shop sells."""
    folded = text.casefold()
    if not _RECOMMEND.search(folded):
        return False
    return any(word in folded for words in CATEGORY_WORDS.values() for word in words)


def reads_as_follow_up(text: str, language: Language, session: Session) -> bool:
    """A short message leaning on the previous knowledge question ("那周六呢？")."""
    return session.last_user_question() is not None and is_follow_up(text, language)


def answered_before(text: str, language: Language, session: Session) -> frozenset[str]:
    """The chunks the previous answer quoted, when ``text`` follows it up; else nothing."""
    if not reads_as_follow_up(text, language, session):
        return frozenset()
    return previous_citations(session)


def previous_citations(session: Session) -> frozenset[str]:
    """The chunks the bot's last reply quoted (none when it was not a knowledge answer)."""
    last = session.last_reply()
    citations = last.payload.get("citations", []) if last else []
    return frozenset(str(c.get("chunk_id")) for c in citations if isinstance(c, dict))


def knowledge_first(
    text: str, language: Language, understood: Understanding, session: Session
) -> bool:
    """Should the knowledge base answer this message (or say it does not know) rather than a
    dialogue action?"""
    action = understood.action
    in_order_flow = FRAME_KEY in session.state
    if action in ORDER_ACTIONS:
        if understood.entities.order_numbers or in_order_flow:
            return False
        return not asks_about_own_order(text, language)
    if action is IntentAction.RECOMMEND_PRODUCT:
        return not wants_recommendation(text)
    if action in CHAT_ACTIONS:
        if reads_as_follow_up(text, language, session):
            return True  # "那周六呢？" after a knowledge answer
        if _unsure_classifier(understood.prediction):
            return True  # "u guys take paypal?" half-taken for chat: a chat line answers nothing
        if (
            action is IntentAction.SMALL_TALK
            and is_question(text)
            and _ABOUT_THE_COMPANY.search(text)
        ):
            return True
        return (
            action is IntentAction.GREETING and not _GREETING_ONLY.match(text) and is_question(text)
        )
    return False


def settle_intent(understood: Understanding, text: str) -> Understanding:
    """Corrects two costly misreadings of the classifier with what the message itself shows.

    - An order number ("what about DD20241101?", "那DD20241101呢") asks about that order,
      whatever the classifier made of the rest, unless it asks how to do something.
    - A complaint hands the conversation to a human at once, so it needs a complaint in the
      words or the tone; "那信用卡呢" read as a complaint is a knowledge question, and so is a
      customer who is not frustrated asking what to do ("刚收到的包裹外箱破了怎么办": the
      damaged-parcel procedure answers it, and a human is one request away).
    """
    numbers = understood.entities.order_numbers
    if numbers and understood.action not in ORDER_ACTIONS and not _HOW_TO.search(text):
        prediction = IntentPrediction("order_status", 1.0, source="rules")
        return dataclasses.replace(
            understood, prediction=prediction, action=IntentAction.ORDER_STATUS
        )
    if understood.action is IntentAction.COMPLAINT and not _complains(understood, text):
        prediction = dataclasses.replace(understood.prediction, name=None, source="rules")
        return dataclasses.replace(understood, prediction=prediction, action=None)
    return understood


def _complains(understood: Understanding, text: str) -> bool:
    """A complaint in the words, or a negative tone from a customer who is frustrated or
    does not ask what to do."""
    if _COMPLAINT.search(text):
        return True
    sentiment = understood.sentiment
    calm = sentiment.score > COMPLAINT_TONE
    asks_what_to_do = _WHAT_TO_DO.search(text) is not None and not sentiment.frustrated
    return not (calm or asks_what_to_do)


def _unsure_classifier(prediction: IntentPrediction) -> bool:
    """The classifier's own hesitant verdict; a model that re-read the message has decided."""
    return prediction.source == "classifier" and prediction.confidence < CHAT_CONFIDENCE


def failure_history(session: Session) -> list[str]:
    """``answer_kind`` of the bot's replies, newest last, without small talk: "好吧" between two
    "I don't know"s does not make the bot's record any better."""
    kinds = [str(t.payload.get("answer_kind")) for t in session.turns if t.role == "assistant"]
    return [kind for kind in kinds if kind != "small_talk"]
