"""Which path a message takes: policy questions to the knowledge base, orders to the order flow."""

from __future__ import annotations

from bot.dialogue.entities import Entities
from bot.dialogue.intent_catalog import IntentAction, IntentPrediction
from bot.dialogue.routing import (
    asks_about_own_order,
    failure_history,
    knowledge_first,
    settle_intent,
    wants_recommendation,
)
from bot.dialogue.sentiment import Sentiment
from bot.dialogue.session import Session, Turn
from bot.dialogue.understanding import Understanding
from core.types import ConversationKey

KEY = ConversationKey("rest", "alice", "alice")


def understood(
    name: str | None, action: IntentAction | None, orders: tuple[str, ...] = (), mood: float = 0.0
) -> Understanding:
    return Understanding(
        prediction=IntentPrediction(name, 0.9),
        action=action,
        entities=Entities(order_numbers=orders),
        sentiment=Sentiment(mood, False),
    )


def session(*turns: Turn, state: dict[str, object] | None = None) -> Session:
    return Session(KEY, "bot", list(turns), dict(state or {}))


ORDER = understood("order_status", IntentAction.ORDER_STATUS)


def test_policy_questions_that_mention_orders_or_refunds_go_to_the_knowledge_base() -> None:
    for text, language in [
        ("退到支付宝要等几天", "zh"),
        ("我下的单能选次日达吗", "zh"),
        ("how long after my order arrives can I still return it", "en"),
        ("Can my order be delivered next day if I order before 4pm?", "en"),
        ("if my order arrives damaged what should I do", "en"),
        ("what should I do if my parcel hasn't arrived after a week", "en"),
        ("要是我的快递还没到怎么办", "zh"),
    ]:
        assert knowledge_first(text, language, ORDER, session()), text  # type: ignore[arg-type]


def test_a_status_question_about_the_customers_own_order_keeps_the_order_flow() -> None:
    assert asks_about_own_order("我买的东西到哪儿了", "zh")
    assert asks_about_own_order("帮我查一下我的快递", "zh")
    assert asks_about_own_order("where's my parcel?", "en")
    assert asks_about_own_order("my package still hasn't shown up", "en")
    assert not knowledge_first("我买的东西到哪儿了", "zh", ORDER, session())
    with_number = understood("order_status", IntentAction.ORDER_STATUS, ("DD20241101",))
    assert not knowledge_first("退款DD20241101", "zh", with_number, session())
    in_flow = session(state={"slot_frame": {"intent": "order_status"}})
    assert not knowledge_first("退款多久", "zh", ORDER, in_flow)


def test_an_order_number_after_an_faq_turn_is_looked_up() -> None:
    other = understood("policy_question", IntentAction.ANSWER_KNOWLEDGE, ("DD20241101",))
    settled = settle_intent(other, "what about DD20241101?")
    assert settled.action is IntentAction.ORDER_STATUS
    assert settle_intent(other, "怎么用DD20241101查物流").action is IntentAction.ANSWER_KNOWLEDGE


def test_a_complaint_needs_a_complaint_in_the_words_or_the_tone() -> None:
    complaint = understood("complaint", IntentAction.COMPLAINT)
    assert settle_intent(complaint, "那信用卡呢").action is None
    assert settle_intent(complaint, "我要投诉你们").action is IntentAction.COMPLAINT
    angry = understood("complaint", IntentAction.COMPLAINT, mood=-0.8)
    assert settle_intent(angry, "三天了还没人理我").action is IntentAction.COMPLAINT


def test_a_calm_customer_asking_what_to_do_is_not_a_complaint() -> None:
    upset = understood("complaint", IntentAction.COMPLAINT, mood=-0.38)
    assert settle_intent(upset, "刚收到的包裹外箱破了怎么办").action is None
    assert settle_intent(upset, "the box is broken, how do I get a new one").action is None
    assert settle_intent(upset, "外箱破了，我要投诉").action is IntentAction.COMPLAINT
    assert settle_intent(upset, "外箱破了").action is IntentAction.COMPLAINT  # no question
    assert settle_intent(upset, "你们怎么回事，外箱破了").action is IntentAction.COMPLAINT


def test_a_follow_up_that_looks_like_small_talk_is_a_knowledge_question() -> None:
    greeting = understood("greeting", IntentAction.GREETING)
    asked = session(
        Turn("user", "客服热线几点开始接电话"),
        Turn("assistant", "每天9:00-21:00", {"answer_kind": "faq"}),
    )
    assert knowledge_first("那周六呢？", "zh", greeting, asked)
    assert not knowledge_first("你好", "zh", greeting, asked)
    assert knowledge_first("你们在北京有线下门店吗", "zh", greeting, session())


def test_recommendations_need_a_request_and_something_we_sell() -> None:
    assert wants_recommendation("推荐一款降噪耳机")
    assert wants_recommendation("which laptop should I buy for travel")
    assert not wants_recommendation("帮我推荐一支能涨的股票")
    assert not wants_recommendation("We're a company looking to buy 50 tablets, who do I talk to?")


def test_small_talk_between_failures_does_not_wipe_them_out() -> None:
    turns = session(
        Turn("assistant", "", {"answer_kind": "dont_know"}),
        Turn("assistant", "", {"answer_kind": "small_talk"}),
        Turn("assistant", "", {"answer_kind": "dont_know"}),
    )
    assert failure_history(turns) == ["dont_know", "dont_know"]


def test_a_question_the_classifier_half_took_for_chat_goes_to_the_knowledge_base() -> None:
    unsure = Understanding(
        prediction=IntentPrediction("small_talk", 0.35),
        action=IntentAction.SMALL_TALK,
        entities=Entities(),
        sentiment=Sentiment(0.0, False),
    )
    assert knowledge_first("u guys take paypal?", "en", unsure, session())
    sure = understood("small_talk", IntentAction.SMALL_TALK)
    assert not knowledge_first("are you a bot", "en", sure, session())
    reread = Understanding(
        prediction=IntentPrediction("small_talk", 0.35, source="llm"),
        action=IntentAction.SMALL_TALK,
        entities=Entities(),
        sentiment=Sentiment(0.0, False),
    )
    assert not knowledge_first("haha you're funny", "en", reread, session())


def test_a_question_about_the_company_taken_for_chat_goes_to_the_knowledge_base() -> None:
    chat = understood("small_talk", IntentAction.SMALL_TALK)
    for text, language in [
        ("你们总部在哪个城市", "zh"),
        ("what's your CEO's name", "en"),
        ("where are you based?", "en"),
        ("do you take bitcoin?", "en"),  # the shop's services, not the bot's
        ("can you guys repair a cracked screen", "en"),
    ]:
        assert knowledge_first(text, language, chat, session()), text  # type: ignore[arg-type]
    for text, language in [
        ("你是机器人吗", "zh"),
        ("what's your name", "en"),
        ("你们真棒", "zh"),
        ("do you like music?", "en"),
    ]:
        assert not knowledge_first(text, language, chat, session()), text  # type: ignore[arg-type]


def test_asking_the_bot_to_look_up_an_order_is_about_an_order() -> None:
    asks = understood("order_status", IntentAction.ORDER_STATUS)
    for text in (
        "can you check where my order is",
        "could you tell me where my parcel is",
        "can you track my parcel",
        "do you know where my stuff is",
    ):
        assert not knowledge_first(text, "en", asks, session()), text
    # asking how to look it up oneself is a question for the knowledge base
    for text in ("how can I check where my order is", "can I check where my order is"):
        assert knowledge_first(text, "en", asks, session()), text
