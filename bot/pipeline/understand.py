"""The understanding step: intent, entities and sentiment, for the steps after it."""

from __future__ import annotations

import asyncio

from bot.dialogue.llm_hooks import LLMComplete
from bot.dialogue.routing import settle_intent
from bot.dialogue.understanding import Understander, Understanding
from bot.pipeline.turn import Proceed, Replies, Turn
from core.config.dialogue import DialogueSettings
from core.events import EventKind
from core.storage import ConversationStore
from core.telemetry import observe_step


class Understand:
    """Classifies the message (with the model's second opinion when one is configured and
    asked for), logs what was understood and puts it on the turn.

    Args:
        understander: the intent classifier, entity extraction and sentiment.
        store: where the UNDERSTANDING event goes.
        config: settings ``dialogue`` (``llm_refine``, ``llm_refine_below``, ``llm_entities``).
        complete: the model, when one is configured.
    """

    def __init__(
        self,
        understander: Understander,
        store: ConversationStore,
        config: DialogueSettings,
        complete: LLMComplete | None = None,
    ) -> None:
        self._understander = understander
        self._store = store
        self._config = config
        self._complete = complete

    async def __call__(self, turn: Turn, proceed: Proceed) -> Replies:
        with observe_step("understand"):
            understood = await asyncio.to_thread(self._understander.understand, turn.text)
            understood = await self._second_opinion(turn.text, understood)
        await self._store.append_event(
            turn.key, EventKind.UNDERSTANDING, payload=understood.to_json()
        )
        turn.understood = settle_intent(understood, turn.text)
        return await proceed(turn)

    async def _second_opinion(self, text: str, understood: Understanding) -> Understanding:
        config = self._config
        if self._complete is None or not (config.llm_refine or config.llm_entities):
            return understood
        return await self._understander.with_llm(
            understood,
            text,
            self._complete,
            refine_below=config.llm_refine_below if config.llm_refine else None,
            entities=config.llm_entities,
        )
