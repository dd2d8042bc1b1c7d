"""JSON schemas of the REST channel for ``/openapi.json`` (Rasa-compatible)."""

from __future__ import annotations

from typing import Any

BUTTON: dict[str, Any] = {
    "type": "object",
    "properties": {"title": {"type": "string"}, "payload": {"type": "string"}},
    "required": ["title", "payload"],
}
BOT_MESSAGE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "recipient_id": {"type": "string"},
        "text": {"type": "string"},
        "buttons": {"type": "array", "items": BUTTON},
        "custom": {
            "type": "object",
            "description": "Kefu's extras: answer_kind (faq, passage, generated, dont_know, "
            "handoff, ...), confidence, citations, intent, handoff state.",
        },
    },
    "required": ["recipient_id", "text"],
}
REST_REQUEST: dict[str, Any] = {
    "type": "object",
    "properties": {
        "sender": {"type": "string", "description": "The customer's id in your system."},
        "message": {"type": "string", "description": "What the customer wrote."},
        "message_id": {
            "type": "string",
            "maxLength": 128,
            "description": "Optional: repeating it returns the stored replies (idempotent).",
        },
    },
    "required": ["sender", "message"],
}
ERROR: dict[str, Any] = {"type": "object", "properties": {"error": {"type": "string"}}}
BOT_MESSAGES = {"type": "array", "items": BOT_MESSAGE}
