"""Pure conversions between web JSON and the core message types."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from core.errors import InputError
from core.storage.outbox import OutboxEntry
from core.types import ConversationKey, IncomingMessage, OutgoingMessage

MAX_SENDER_CHARS = 128
_SENDER = re.compile(r"^[\w.@\-]+$")


def parse_sender(value: object) -> str:
    """Validates a sender id: the customer's id on the web channels.

    Raises:
        InputError: when it is missing, not a string, too long or has odd characters.
    """
    if not isinstance(value, str) or not value.strip():
        raise InputError("field 'sender' is required and must be a non-empty string")
    sender = value.strip()
    if len(sender) > MAX_SENDER_CHARS or not _SENDER.match(sender):
        raise InputError(
            f"field 'sender' must be at most {MAX_SENDER_CHARS} letters, digits, '.', '_', "
            "'@' or '-'"
        )
    return sender


def rest_to_incoming(body: object, message_id: str, platform: str = "rest") -> IncomingMessage:
    """``{"sender": "...", "message": "..."}`` -> IncomingMessage.

    Raises:
        InputError: when the body is not an object or a field is missing or mistyped.
    """
    if not isinstance(body, Mapping):
        raise InputError("request body must be a JSON object")
    sender = parse_sender(body.get("sender"))
    text = body.get("message")
    if not isinstance(text, str):
        raise InputError("field 'message' is required and must be a string")
    raw_id = body.get("message_id")
    if raw_id is not None and (not isinstance(raw_id, str | int) or len(str(raw_id)) > 128):
        raise InputError("field 'message_id' must be a short string or number")
    return IncomingMessage(
        # The client's id is unique per sender only: scope it, so customers never collide.
        message_id=f"{sender}:{raw_id}" if raw_id is not None else message_id,
        key=ConversationKey(platform, sender, sender),
        text=text,
        sender_name=sender,
        raw={"sender": sender, "message_id": raw_id},
    )


def outgoing_to_rest(recipient_id: str, message: OutgoingMessage) -> dict[str, Any]:
    """One bot message in Rasa's REST channel format, with our extras in ``custom``."""
    item: dict[str, Any] = {"recipient_id": recipient_id, "text": message.text}
    if message.buttons:
        item["buttons"] = [{"title": b.title, "payload": b.payload} for b in message.buttons]
    custom: dict[str, Any] = dict(message.custom)
    custom["citations"] = [c.to_json() for c in message.citations]
    if message.intent:
        custom["intent"] = message.intent
    item["custom"] = custom
    return item


def rest_replies(
    recipient_id: str, batches: Sequence[Sequence[OutboxEntry]]
) -> list[dict[str, Any]]:
    """The outbox messages of several lookups, each once, oldest first, in Rasa's format."""
    unique = {entry.id: entry for batch in batches for entry in batch}
    return [outgoing_to_rest(recipient_id, unique[i].message) for i in sorted(unique)]
