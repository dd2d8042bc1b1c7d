"""The language a turn is answered in, from the message and the languages the catalog has."""

from __future__ import annotations

from bot.texts.catalog import current_catalog
from core.text import Language, detect_language, turn_language
from core.types import IncomingMessage, OutgoingMessage


def language_for(message: IncomingMessage, previous: str | None = None) -> Language:
    """The customer's language for ``message`` (see :func:`core.text.turn_language`).

    Args:
        message: the customer's message; its ``locale`` is the platform's hint, if any.
        previous: the customer's previous message in the conversation, if any.
    """
    return turn_language(
        message.text,
        previous=previous,
        locale=message.locale,
        available=current_catalog().languages,
    )


def reply_language(message: OutgoingMessage) -> Language:
    """The language a renderer words its own additions in ("Sources", "Please choose").

    The pipeline sets ``message.language`` on every reply of a turn; a message without it (one
    queued before the field existed, or built by hand) is read from its text.
    """
    return message.language or detect_language(message.text)
