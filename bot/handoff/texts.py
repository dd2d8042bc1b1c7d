"""Handoff messages to the customer: wait estimates, service hours and the cancel button.

Their wording is in the text catalog (``handoff.*`` in ``bot/texts/<lang>.yaml``)."""

from __future__ import annotations

import math
from typing import Any

from bot.texts import say
from core.config.handoff import BusinessHours
from core.events import AnswerKind
from core.text import Language
from core.types import Button, OutgoingMessage

RATING_BUTTONS = tuple(Button(str(score), str(score)) for score in range(1, 6))


def wait_minutes(position: int, agents_online: int, average_minutes: float) -> int:
    """A rough wait: the conversations ahead, shared by the agents online, at least 1 min."""
    return max(1, math.ceil(position * average_minutes / max(agents_online, 1)))


def hours_text(hours: BusinessHours) -> str:
    if hours.always_open:
        return "24/7"
    return f"{hours.opens:%H:%M}-{hours.closes:%H:%M} ({hours.timezone})"


def handoff_message(
    text: str,
    language: Language,
    state: dict[str, Any],
    *,
    buttons: tuple[Button, ...] | None = None,
) -> OutgoingMessage:
    """A message about the handoff, marked so that the REST ``custom`` carries its state."""
    if buttons is None:
        cancel = Button(
            say("handoff.cancel_button", language), say("handoff.cancel_payload", language)
        )
        buttons = (cancel,)
    return OutgoingMessage(
        text,
        language=language,
        buttons=buttons,
        custom={"answer_kind": AnswerKind.HANDOFF.value, "handoff": state},
    )
