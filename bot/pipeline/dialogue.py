"""The dialogue step: order lookups, slot filling, recommendations and small talk."""

from __future__ import annotations

from bot.dialogue.actions import DialogueActions
from bot.dialogue.routing import knowledge_first
from bot.pipeline.turn import Proceed, Replies, Turn


class DialogueStep:
    """Acts on what the understanding step found, unless the question is one for the
    knowledge base (a policy question that mentions orders, a follow-up): then, and when
    no action fits, the later steps answer."""

    def __init__(self, actions: DialogueActions) -> None:
        self._actions = actions

    async def __call__(self, turn: Turn, proceed: Proceed) -> Replies:
        understood = turn.understood
        if understood is None or knowledge_first(
            turn.text, turn.language, understood, turn.session
        ):
            return await proceed(turn)
        acted = await self._actions.respond(turn.session, turn.text, turn.language, understood)
        return acted if acted is not None else await proceed(turn)
