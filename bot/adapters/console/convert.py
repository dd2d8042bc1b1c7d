"""Pure rendering of bot messages as terminal text."""

from __future__ import annotations

from bot.texts import say
from bot.texts.language import reply_language
from core.types import OutgoingMessage


def render(message: OutgoingMessage) -> str:
    lines = [f"客服> {message.text}"]
    if message.citations:
        label = say("chat.sources", reply_language(message))
        titles = "; ".join(
            c.title + (f" § {c.section}" if c.section else "") for c in message.citations
        )
        lines.append(f"      [{label}: {titles}]")
    for number, button in enumerate(message.buttons, start=1):
        lines.append(f"      ({number}) {button.title}")
    return "\n".join(lines)


def choose_button(text: str, last: OutgoingMessage | None) -> str:
    """Typing ``1`` after a message with buttons picks the first button's payload."""
    if last and text.isdigit() and 1 <= int(text) <= len(last.buttons):
        return last.buttons[int(text) - 1].payload
    return text
