"""The handoff steps: relay to the human who has the conversation, and escalate to one."""

from __future__ import annotations

from bot.dialogue.routing import failure_history
from bot.handoff import HandoffService
from bot.pipeline.turn import Proceed, Replies, Turn


class HumanRelay:
    """While a human agent has (or is about to take) the conversation, the message goes to
    them and the bot stays quiet; after a close, the customer can ask for them back."""

    def __init__(self, handoff: HandoffService) -> None:
        self._handoff = handoff

    async def __call__(self, turn: Turn, proceed: Proceed) -> Replies:
        routed = await self._handoff.route_customer_message(turn.key, turn.text, turn.language)
        return routed if routed is not None else await proceed(turn)


class Escalation:
    """Hands over to a human now when the customer asks for one, complains, is frustrated or
    the bot failed them repeatedly (reads what the understanding step found)."""

    def __init__(self, handoff: HandoffService) -> None:
        self._handoff = handoff

    async def __call__(self, turn: Turn, proceed: Proceed) -> Replies:
        understood = turn.understood
        escalated = await self._handoff.maybe_escalate(
            turn.key,
            turn.text,
            turn.language,
            intent=understood.intent if understood else None,
            frustrated=understood.sentiment.frustrated if understood else False,
            last_answers=failure_history(turn.session),
        )
        return escalated if escalated is not None else await proceed(turn)
