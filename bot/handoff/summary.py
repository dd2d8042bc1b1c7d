"""What an agent reads when taking a conversation: the transcript and a short summary.

The summary is the LLM's when one is configured (the ``summarize`` callable), else the last
turns, the detected intent, the extracted entities and why the bot handed off.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from core.events import EventKind
from core.storage import EventRecord

Summarize = Callable[[str], Awaitable[str]]
"""Turns a plain-text transcript ("Customer: ...\\nBot: ...") into a few sentences."""

TRANSCRIPT_KINDS = (
    EventKind.USER_MESSAGE,
    EventKind.BOT_REPLY,
    EventKind.AGENT_MESSAGE,
    EventKind.AGENT_NOTE,
    EventKind.HANDOFF,
    EventKind.CSAT,
    EventKind.DELIVERY_FAILED,
)
SUMMARY_KINDS = (EventKind.USER_MESSAGE, EventKind.BOT_REPLY, EventKind.UNDERSTANDING)

ROLES: dict[str, str] = {
    EventKind.USER_MESSAGE: "customer",
    EventKind.BOT_REPLY: "bot",
    EventKind.AGENT_MESSAGE: "agent",
    EventKind.AGENT_NOTE: "note",
    EventKind.HANDOFF: "system",
    EventKind.CSAT: "system",
    EventKind.DELIVERY_FAILED: "system",
}
_SPEAKERS = {"customer": "Customer", "bot": "Bot", "agent": "Agent"}
_NOT_ENTITIES = frozenset({"source", "bare"})
"""How the entities were found, not what the customer said."""


@dataclass(slots=True, frozen=True)
class TranscriptLine:
    """One line of the workspace transcript."""

    event_id: int
    role: str
    """customer, bot, agent, note (internal, never sent) or system."""
    text: str
    at: str
    agent_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.event_id,
            "role": self.role,
            "text": self.text,
            "at": self.at,
            "agent_id": self.agent_id,
        }


def transcript(events: Sequence[EventRecord]) -> list[TranscriptLine]:
    """The conversation as the agent sees it, notes and handoff steps included."""
    lines = []
    for event in events:
        role = ROLES.get(event.kind)
        if role is None:
            continue
        agent_id = event.payload.get("agent_id")
        lines.append(
            TranscriptLine(
                event_id=event.id,
                role=role,
                text=_line_text(event),
                at=event.created_at.isoformat(),
                agent_id=agent_id if isinstance(agent_id, int) else None,
            )
        )
    return lines


def plain_summary(events: Sequence[EventRecord], reason: str, turns: int) -> dict[str, Any]:
    """The summary without a model: last turns, intent, entities and the handoff reason."""
    intent: str | None = None
    entities: dict[str, Any] = {}
    for event in events:
        if event.kind == EventKind.UNDERSTANDING:
            intent = event.payload.get("intent") or intent
            # a later message without an order number must not erase the one given earlier
            found = event.payload.get("entities") or {}
            entities.update({k: v for k, v in found.items() if v and k not in _NOT_ENTITIES})
        elif event.kind == EventKind.BOT_REPLY and event.payload.get("intent"):
            intent = intent or event.payload.get("intent")
    said = [
        {"role": ROLES[e.kind], "text": e.text or ""}
        for e in events
        if e.kind in (EventKind.USER_MESSAGE, EventKind.BOT_REPLY)
    ]
    return {"reason": reason, "intent": intent, "entities": entities, "last_turns": said[-turns:]}


def transcript_text(lines: Sequence[TranscriptLine]) -> str:
    """The customer-visible conversation as plain text, for the LLM summary (no notes)."""
    return "\n".join(
        f"{_SPEAKERS[line.role]}: {line.text}" for line in lines if line.role in _SPEAKERS
    )


def _line_text(event: EventRecord) -> str:
    if event.kind == EventKind.DELIVERY_FAILED:
        error = event.payload.get("error") or "unknown error"
        return f"NOT DELIVERED to the customer ({error}): {event.text or ''}"
    return event.text or _system_text(event)


def _system_text(event: EventRecord) -> str:
    if event.kind == EventKind.CSAT:
        return f"rating: {event.payload.get('score')}/5"
    action = event.payload.get("action", "")
    detail = event.payload.get("reason") or event.payload.get("resolution") or ""
    return f"handoff {action}" + (f": {detail}" if detail else "")
