"""What every pipeline step sees: the turn being handled, and the step contract."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bot.dialogue.session import Session
from bot.dialogue.understanding import Understanding
from core.text import Language
from core.types import ConversationKey, IncomingMessage, OutgoingMessage, StreamSink

Replies = list[OutgoingMessage]

Proceed = Callable[["Turn"], Awaitable[Replies]]
"""The rest of the chain after a step: what the later steps answer."""


@dataclass(slots=True)
class Turn:
    """One customer message on its way through the steps.

    The facts every step needs are decided once, before the first step: the cleaned text,
    the customer's language (carried on every reply), the session and whether the sender is
    an admin. ``understood`` is filled in by the understanding step for the steps after it.
    """

    message: IncomingMessage
    text: str
    language: Language
    session: Session
    is_admin: bool = False
    stream: StreamSink | None = None
    """Where a generated answer's pieces go while it is written (channels that can show it)."""
    understood: Understanding | None = None

    @property
    def key(self) -> ConversationKey:
        return self.message.key

    @property
    def log_context(self) -> dict[str, Any]:
        return {"conversation": self.key.as_str(), "message_id": self.message.message_id}


class Step(Protocol):
    """One link of the chain (aiogram's middleware shape): answer the turn and stop, or add
    to it and ``proceed`` to the later steps (and possibly change what they answered)."""

    async def __call__(self, turn: Turn, proceed: Proceed) -> Replies: ...
