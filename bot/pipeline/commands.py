"""The slash-command step: ``/start`` for everyone, the rest for admins only."""

from __future__ import annotations

from typing import Any

import structlog

from bot.admin import AdminCommands, is_command, parse_command
from bot.handoff import HandoffService
from bot.pipeline.replies import refusal
from bot.pipeline.turn import Proceed, Replies, Turn
from bot.texts import say
from core.events import EventKind
from core.storage import ConversationStore
from core.types import OutgoingMessage

log = structlog.get_logger(__name__)

CUSTOMER_COMMANDS = frozenset({"start"})


class Commands:
    """Runs a slash command; every admin command is logged with whether it was allowed.

    Args:
        admin: the knowledge-base commands (``/kb ...``, ``/reload``).
        store: where the ADMIN_COMMAND events go.
        handoff: the handoff commands (``/handoff``), when handoff is on.
    """

    def __init__(
        self, admin: AdminCommands, store: ConversationStore, handoff: HandoffService | None
    ) -> None:
        self._admin = admin
        self._store = store
        self._handoff = handoff

    async def __call__(self, turn: Turn, proceed: Proceed) -> Replies:
        if not is_command(turn.text):
            return await proceed(turn)
        name, _ = parse_command(turn.text)
        if name in CUSTOMER_COMMANDS:
            return [OutgoingMessage(say("chat.greeting", turn.language))]
        replies = await self._run(turn) if turn.is_admin else None
        if replies is None:
            log.warning("admin.refused", command=name, **turn.log_context)
            replies = [refusal(say("admin.refused", turn.language))]
        payload: dict[str, Any] = {"command": name, "allowed": turn.is_admin}
        await self._store.append_event(turn.key, EventKind.ADMIN_COMMAND, payload=payload)
        return replies

    async def _run(self, turn: Turn) -> Replies:
        if self._handoff is not None:
            handed = await self._handoff.admin_command(turn.key, turn.text, turn.language)
            if handed is not None:
                return handed
        return (await self._admin.run(turn.key, turn.text, turn.language)).replies
