"""The "decide" step for what is not a knowledge question: slots, orders, recommendations,
greetings and small talk."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import structlog

from bot.dialogue.intent_catalog import IntentAction
from bot.dialogue.order_llm import answer_with_order_tool
from bot.dialogue.recommend import customer_history, recommend
from bot.dialogue.session import Session
from bot.dialogue.shop import OrderInfo, customer_id_for, find_order
from bot.dialogue.shop_replies import order_status_reply, recommendations_reply
from bot.dialogue.slots import SlotDecision, SlotOutcome, advance
from bot.dialogue.understanding import Understanding
from bot.messages import human_button, say
from core.config.dialogue import DialogueSettings
from core.events import AnswerKind
from core.llm import ChatBackend
from core.storage import ConversationStore, Database
from core.text import Language, pick
from core.types import ConversationKey, OutgoingMessage

log = structlog.get_logger(__name__)

SMALL_TALK = {
    "zh": "我是星河电子的智能客服，专门解答购物相关的问题。有什么订单、物流或售后问题可以问我哦。",
    "en": "I'm the Xinghe Electronics support bot, here for shopping questions. Ask me about "
    "orders, delivery or after-sales service any time.",
}
GOODBYE = {
    "zh": "不客气，祝您购物愉快！还有问题随时找我。",
    "en": "You're welcome! Have a great day, and come back any time.",
}


def reply(text: str, kind: AnswerKind, **custom: Any) -> OutgoingMessage:
    return OutgoingMessage(text, custom={"answer_kind": kind.value, **custom})


class DialogueActions:
    """Acts on intents that are not answered from the knowledge base."""

    def __init__(
        self,
        settings: DialogueSettings,
        db: Database,
        store: ConversationStore,
        required_slots: dict[str, tuple[str, ...]],
        clock: Callable[[], datetime],
        llm: ChatBackend | None = None,
    ) -> None:
        self._llm = llm
        self._settings = settings
        self._db = db
        self._store = store
        self._required = required_slots
        self._clock = clock

    async def respond(
        self, session: Session, text: str, language: Language, understood: Understanding
    ) -> list[OutgoingMessage] | None:
        """The bot's reply, or None when the knowledge base should answer."""
        decision = self._advance_slots(session, understood)
        if decision.state != session.state:
            await self._store.save_state(session.key, decision.state)
            session.state = decision.state
        if decision.outcome is SlotOutcome.ASK:
            prompt = decision.prompt(language) or ""
            return [reply(prompt, AnswerKind.SLOT_PROMPT, slot=decision.slot)]
        if decision.outcome is SlotOutcome.GIVE_UP:
            button = human_button(language)
            text_ = pick(
                language,
                "抱歉，我没能拿到需要的信息。需要为您转接人工客服吗？",
                "Sorry, I couldn't get what I need. Shall I connect you with a human?",
            )
            return [
                OutgoingMessage(
                    text_, buttons=(button,), custom={"answer_kind": AnswerKind.DONT_KNOW.value}
                )
            ]
        if decision.outcome is SlotOutcome.COMPLETE:
            return await self._complete(session, text, decision, language)
        return await self._act(session.key, text, language, understood)

    def _advance_slots(self, session: Session, understood: Understanding) -> SlotDecision:
        return advance(
            session.state,
            understood.prediction,
            understood.entities,
            self._clock(),
            timedelta(minutes=self._settings.slot_ttl_minutes),
            required_slots=self._required,
            max_attempts=self._settings.slot_max_attempts,
            switch_confidence=self._settings.topic_switch_confidence,
        )

    async def _complete(
        self, session: Session, text: str, decision: SlotDecision, language: Language
    ) -> list[OutgoingMessage] | None:
        order_no = decision.values.get("order_no")
        if order_no is None:
            return None
        customer = customer_id_for(session.key)

        async def find(number: str) -> OrderInfo | None:
            return await find_order(self._db, number, customer)

        order = await find(order_no)
        log.info("dialogue.order_looked_up", found=order is not None, intent=decision.intent)
        answer = order_status_reply(order, order_no, language)
        custom: dict[str, Any] = {"tool": "order_status", "order_no": order_no, "generated": False}
        if self._llm is not None:
            by_model = await answer_with_order_tool(
                self._llm, session.history(), text, language, find
            )
            if by_model is not None:
                answer = by_model.text
                custom.update(generated=True, looked_up=list(by_model.looked_up))
        if decision.intent == "refund_request" and order is not None:
            answer += pick(
                language,
                "\n如需退货退款，请在“我的订单”中选择该订单并点击“申请售后 → 退货退款”。",
                "\nTo return it for a refund, open the order in My Orders and choose "
                '"After-sales service > Return and refund".',
            )
        return [reply(answer, AnswerKind.TOOL, **custom)]

    async def _act(
        self, key: ConversationKey, text: str, language: Language, understood: Understanding
    ) -> list[OutgoingMessage] | None:
        action = understood.action
        if action is IntentAction.GREETING:
            return [reply(say("greeting", language), AnswerKind.SMALL_TALK)]
        if action is IntentAction.GOODBYE:
            return [reply(GOODBYE[language], AnswerKind.SMALL_TALK)]
        if action is IntentAction.SMALL_TALK:
            return [reply(SMALL_TALK[language], AnswerKind.SMALL_TALK)]
        if action is IntentAction.RECOMMEND_PRODUCT:
            history = await customer_history(
                self._db, customer_id_for(key), asked=understood.entities.products
            )
            picks = await recommend(self._db, history, text, k=self._settings.recommendations)
            return [
                reply(
                    recommendations_reply(picks, language),
                    AnswerKind.RECOMMENDATION,
                    products=[p.product.sku for p in picks],
                )
            ]
        return None
