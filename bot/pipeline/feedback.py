"""The feedback steps: ratings and review commands, a 👎's reason, 👍 / 👎 under answers."""

from __future__ import annotations

from bot.feedback.service import FeedbackService
from bot.pipeline.turn import Proceed, Replies, Turn


class RatingCommands:
    """``/feedback ...`` and a bare 👍 / 👎: rate an answer, or (admins) review candidates."""

    def __init__(self, feedback: FeedbackService) -> None:
        self._feedback = feedback

    async def __call__(self, turn: Turn, proceed: Proceed) -> Replies:
        rated = await self._feedback.handle_command(
            turn.key, turn.text, turn.language, is_admin=turn.is_admin
        )
        return rated if rated is not None else await proceed(turn)


class PendingReason:
    """The message after a reason-less 👎 is its reason (unless it is a new question)."""

    def __init__(self, feedback: FeedbackService) -> None:
        self._feedback = feedback

    async def __call__(self, turn: Turn, proceed: Proceed) -> Replies:
        reason = await self._feedback.take_pending_reason(turn.key, turn.text)
        return reason if reason is not None else await proceed(turn)


class RatingButtons:
    """Puts 👍 / 👎 under every knowledge answer the later steps give."""

    def __init__(self, feedback: FeedbackService) -> None:
        self._feedback = feedback

    async def __call__(self, turn: Turn, proceed: Proceed) -> Replies:
        replies = await proceed(turn)
        return [self._feedback.with_buttons(reply, turn.language) for reply in replies]
