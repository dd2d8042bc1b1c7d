"""Quick replies whose titles and payloads come from the text catalog."""

from __future__ import annotations

from bot.texts.catalog import say
from core.text import Language
from core.types import Button


def human_button(language: Language) -> Button:
    """The "talk to a human" quick reply; its payload (``chat.human_payload``, a phrase the
    handoff triggers recognise) asks for an agent."""
    return Button(say("chat.human_button", language), say("chat.human_payload", language))
