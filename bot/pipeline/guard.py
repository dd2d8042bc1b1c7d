"""The first step: a message the bot cannot read (empty, only an attachment, too long)."""

from __future__ import annotations

from bot.pipeline.replies import refusal
from bot.pipeline.turn import Proceed, Replies, Turn
from bot.texts import say
from core.types import OutgoingMessage


class MessageGuard:
    """Answers an empty, attachment-only or over-long message with what to send instead.

    Args:
        max_chars: the longest message read (settings ``server.max_message_chars``).
    """

    def __init__(self, max_chars: int) -> None:
        self._max_chars = max_chars

    async def __call__(self, turn: Turn, proceed: Proceed) -> Replies:
        if not turn.text:
            return [
                refusal(
                    say("chat.attachment" if turn.message.parts else "chat.empty", turn.language)
                )
            ]
        if len(turn.text) > self._max_chars:
            return [OutgoingMessage(say("chat.too_long", turn.language, limit=self._max_chars))]
        return await proceed(turn)
