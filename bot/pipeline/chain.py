"""One pipeline for every message from every channel: an ordered list of steps.

The conversation runner records the message, rate-limits it and runs one turn of a
conversation at a time; then :class:`Pipeline` loads the session, logs the message, decides
the turn's facts once (language, admin) and runs the steps in order. The composition root
(``bot.app``) says which steps, in which order; the runner commits the turn with its outbox
rows and delivery sends them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import structlog

from bot.dialogue.session import load_session
from bot.pipeline.replies import apology, reply_payload, with_reply_id
from bot.pipeline.turn import Proceed, Replies, Step, Turn
from bot.texts.language import language_for
from core.errors import StorageError
from core.events import EventKind
from core.storage import ConversationStore
from core.telemetry import observe_step, timed_turn
from core.text import clean_text
from core.types import ConversationKey, IncomingMessage, StreamSink

log = structlog.get_logger(__name__)

IsAdmin = Callable[[ConversationKey], bool]
"""Whether the sender of a conversation is an admin (settings ``admins``, proven ids only)."""


class Pipeline:
    """Turns one customer message into the bot's replies, recording both in the event log.

    Args:
        store: the conversation store (event log, session state).
        steps: the steps, first to last; the last one must answer every turn it gets.
        is_admin: decides once per turn whether the sender may run admin commands.
    """

    def __init__(self, store: ConversationStore, steps: Sequence[Step], is_admin: IsAdmin) -> None:
        self._store = store
        self._is_admin = is_admin
        self.steps = tuple(steps)
        self._first = chain(self.steps)

    @timed_turn
    async def handle(
        self, message: IncomingMessage, *, stream: StreamSink | None = None
    ) -> Replies:
        """Answers ``message``. Never raises: failures become a polite apology.

        Args:
            message: the customer's message.
            stream: awaited with the pieces of a generated answer as the model writes them;
                the first returned message is then the final answer that replaces them.
        """
        language = language_for(message)
        try:
            with observe_step("load_session"):
                session = await load_session(self._store, message.key)
            await self._store.append_event(
                message.key,
                EventKind.USER_MESSAGE,
                text=message.text,
                payload={"message_id": message.message_id, "parts": list(message.parts)},
            )
        except StorageError:
            log.exception("pipeline.storage_failed", conversation=message.key.as_str())
            return [apology(language)]
        turn = Turn(
            message,
            clean_text(message.text),
            language_for(message, session.last_user_text()),
            session,
            is_admin=self._is_admin(message.key),
            stream=stream,
        )
        try:
            replies = await self._first(turn)
        except Exception:
            log.exception("pipeline.failed", **turn.log_context)
            replies = [apology(turn.language)]
        return await self._record_replies(turn, replies)

    async def _record_replies(self, turn: Turn, replies: Replies) -> Replies:
        """Logs the replies, each with the id that ratings and receipts refer to."""
        recorded = []
        for reply in replies:
            reply = with_reply_id(reply, turn.language)
            recorded.append(reply)
            try:
                await self._store.append_event(
                    turn.key, EventKind.BOT_REPLY, text=reply.text, payload=reply_payload(reply)
                )
            except StorageError:
                log.exception("pipeline.reply_not_recorded", **turn.log_context)
        return recorded


def chain(steps: Sequence[Step]) -> Proceed:
    """The steps linked first to last, each calling the next through ``proceed``."""
    proceed: Proceed = _unanswered
    for step in reversed(steps):
        proceed = _link(step, proceed)
    return proceed


def _link(step: Step, proceed: Proceed) -> Proceed:
    async def run(turn: Turn) -> Replies:
        return await step(turn, proceed)

    return run


async def _unanswered(turn: Turn) -> Replies:
    """Past the last step: a chain whose last step lets a turn through is assembled wrongly."""
    log.error("pipeline.no_step_answered", **turn.log_context)
    return [apology(turn.language)]
