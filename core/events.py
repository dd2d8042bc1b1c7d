"""Kinds of entries in the append-only conversation event log, and what their payloads hold.

Transcripts, analytics, handoff summaries and fine-tuning exports all read this log, so every
writer and reader uses these names.
"""

from enum import StrEnum


class EventKind(StrEnum):
    USER_MESSAGE = "user_message"
    """payload: {"message_id", "parts": [...]}; text: what the customer wrote."""

    BOT_REPLY = "bot_reply"
    """payload: {"citations": [Citation.to_json()...], "intent", "answer_kind", "confidence",
    "buttons": [...]}; text: the reply. answer_kind is one of AnswerKind."""

    UNDERSTANDING = "understanding"
    """payload: {"intent", "confidence", "entities": {...}, "sentiment": float,
    "frustrated": bool}"""

    HANDOFF = "handoff"
    """payload: {"action": "escalated"|"claimed"|"released"|"closed"|"cancelled", "reason",
    "agent_id", "priority"}"""

    AGENT_MESSAGE = "agent_message"
    """payload: {"agent_id"}; text: what the human agent sent to the customer."""

    AGENT_NOTE = "agent_note"
    """payload: {"agent_id"}; text: internal note, never sent to the customer."""

    FEEDBACK = "feedback"
    """payload: {"rating": "up"|"down", "reply_event_id", "reason"}"""

    CSAT = "csat"
    """payload: {"score": 1..5}"""

    ADMIN_COMMAND = "admin_command"
    """payload: {"command", "allowed": bool, "result"}"""

    DELIVERY_FAILED = "delivery_failed"
    """payload: {"outbox_id", "reply_id", "error", "attempts", "source"}; text: the message
    that could not be delivered to the customer's platform (agents see it in the workspace)."""

    SYSTEM = "system"
    """payload: {"event", ...}: errors and other system notes (e.g. "knowledge_unavailable")."""


class AnswerKind(StrEnum):
    FAQ = "faq"
    PASSAGE = "passage"
    GENERATED = "generated"
    DONT_KNOW = "dont_know"
    TOOL = "tool"
    SLOT_PROMPT = "slot_prompt"
    SMALL_TALK = "small_talk"
    RECOMMENDATION = "recommendation"
    HANDOFF = "handoff"
    ADMIN = "admin"
    ERROR = "error"
    REFUSAL = "refusal"
