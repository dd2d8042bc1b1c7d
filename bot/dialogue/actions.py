"""The "decide" step for what is not a knowledge question: slots, orders, recommendations,
greetings and small talk."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import structlog

from bot.dialogue.entities import normalize_order_number
from bot.dialogue.intent_catalog import IntentAction
from bot.dialogue.order_llm import answer_with_order_tool
from bot.dialogue.recommend import CustomerHistory, customer_history, recommend
from bot.dialogue.session import Session
from bot.dialogue.shop_replies import (
    lookup_failed_reply,
    order_status_reply,
    recommendations_reply,
)
from bot.dialogue.slots import SlotDecision, SlotOutcome, advance
from bot.dialogue.understanding import Understanding
from bot.texts import human_button, say
from core.config.dialogue import DialogueSettings
from core.errors import ConnectorError
from core.events import AnswerKind
from core.llm import ChatBackend
from core.shop import Catalogue, Order, OrderBook, customer_id_for
from core.storage import ConversationStore
from core.text import Language
from core.types import ConversationKey, OutgoingMessage

log = structlog.get_logger(__name__)


def reply(text: str, kind: AnswerKind, **custom: Any) -> OutgoingMessage:
    return OutgoingMessage(text, custom={"answer_kind": kind.value, **custom})


def lookup_failed(language: Language, **custom: Any) -> OutgoingMessage:
    """The polite answer when the order or product system is down, with a way to a human."""
    return OutgoingMessage(
        lookup_failed_reply(language),
        buttons=(human_button(language),),
        custom={"answer_kind": AnswerKind.DONT_KNOW.value, "lookup_failed": True, **custom},
    )


class DialogueActions:
    """Acts on intents that are not answered from the knowledge base.

    Orders and products are read only through ``orders`` and ``catalogue``, whichever system
    is behind them (the demo tables, a SQL query, an HTTP API).
    """

    def __init__(
        self,
        settings: DialogueSettings,
        orders: OrderBook,
        catalogue: Catalogue,
        store: ConversationStore,
        required_slots: dict[str, tuple[str, ...]],
        clock: Callable[[], datetime],
        llm: ChatBackend | None = None,
    ) -> None:
        self._llm = llm
        self._settings = settings
        self._orders = orders
        self._catalogue = catalogue
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
            text_ = say("dialogue.slot_give_up", language)
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

        async def find(number: str) -> Order | None:
            canonical = normalize_order_number(number)  # "dd 2024 1101" -> "DD20241101"
            return None if canonical is None else await self._orders.find(canonical, customer)

        try:
            order = await find(order_no)
        except ConnectorError as e:
            log.warning("dialogue.order_lookup_failed", reason=str(e), intent=decision.intent)
            return [lookup_failed(language, tool="order_status", order_no=order_no)]
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
            answer += say("shop.order.refund_howto", language)
        return [reply(answer, AnswerKind.TOOL, **custom)]

    async def _act(
        self, key: ConversationKey, text: str, language: Language, understood: Understanding
    ) -> list[OutgoingMessage] | None:
        action = understood.action
        if action is IntentAction.GREETING:
            return [reply(say("chat.greeting", language), AnswerKind.SMALL_TALK)]
        if action is IntentAction.GOODBYE:
            return [reply(say("dialogue.goodbye", language), AnswerKind.SMALL_TALK)]
        if action is IntentAction.SMALL_TALK:
            return [reply(say("dialogue.small_talk", language), AnswerKind.SMALL_TALK)]
        if action is IntentAction.RECOMMEND_PRODUCT:
            history = await self._history(key, understood.entities.products)
            try:
                picks = await recommend(
                    self._catalogue, history, text, k=self._settings.recommendations
                )
            except ConnectorError as e:
                log.warning("dialogue.catalogue_failed", reason=str(e))
                return [lookup_failed(language)]
            return [
                reply(
                    recommendations_reply(picks, language),
                    AnswerKind.RECOMMENDATION,
                    products=[p.product.sku for p in picks],
                )
            ]
        return None

    async def _history(self, key: ConversationKey, asked: Sequence[str]) -> CustomerHistory:
        """What the customer bought and asked about; without the order system, only asked."""
        try:
            return await customer_history(self._orders, customer_id_for(key), asked=asked)
        except ConnectorError as e:
            log.warning("dialogue.order_history_failed", reason=str(e))
            return CustomerHistory(asked=tuple(dict.fromkeys(asked)))
