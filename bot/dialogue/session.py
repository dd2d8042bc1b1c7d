"""A conversation as the pipeline sees it: recent turns from the event log plus slot state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.events import EventKind
from core.storage import ConversationStore
from core.types import ConversationKey

HISTORY_EVENTS = 20
PROMPT_TURNS = 6
TURN_KINDS = (EventKind.USER_MESSAGE, EventKind.BOT_REPLY, EventKind.AGENT_MESSAGE)


@dataclass(slots=True, frozen=True)
class Turn:
    role: str
    """"user", "assistant" (the bot) or "agent" (a human)."""
    text: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Session:
    key: ConversationKey
    status: str
    turns: list[Turn]
    state: dict[str, Any]

    def last_user_question(self) -> str | None:
        """The customer's previous message that the bot answered from knowledge."""
        for index in range(len(self.turns) - 1, 0, -1):
            turn = self.turns[index]
            if turn.role != "assistant":
                continue
            kind = turn.payload.get("answer_kind")
            previous = self.turns[index - 1]
            if kind in ("faq", "passage", "generated") and previous.role == "user":
                return previous.text
        return None

    def last_user_text(self) -> str | None:
        for turn in reversed(self.turns):
            if turn.role == "user":
                return turn.text
        return None

    def history(self, turns: int = PROMPT_TURNS) -> list[tuple[str, str]]:
        """The last ``turns`` turns as ``(role, text)`` for a prompt; agents' words count as
        the bot's side of the conversation."""
        return [(turn.role, turn.text) for turn in self.turns[-turns:] if turn.text]

    def last_reply(self) -> Turn | None:
        for turn in reversed(self.turns):
            if turn.role == "assistant":
                return turn
        return None


_ROLES = {
    EventKind.USER_MESSAGE: "user",
    EventKind.BOT_REPLY: "assistant",
    EventKind.AGENT_MESSAGE: "agent",
}


async def load_session(store: ConversationStore, key: ConversationKey) -> Session:
    """Reads the conversation back from the database, so a restart forgets nothing."""
    record = await store.get(key)  # a new customer's rows are written when the turn commits
    if record is None:
        return Session(key=key, status="bot", turns=[], state={})
    events = await store.events(key, kinds=list(TURN_KINDS), limit=HISTORY_EVENTS)
    turns = [
        Turn(_ROLES[EventKind(event.kind)], event.text or "", dict(event.payload or {}))
        for event in events
    ]
    return Session(key=key, status=record.status, turns=turns, state=dict(record.state or {}))
