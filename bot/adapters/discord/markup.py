"""Rendering an :class:`OutgoingMessage` as Discord messages.

Discord allows 2000 characters per message, five buttons per row and five rows, 80-character
button labels and 100-character custom_ids. Text is split on paragraph, line, sentence and word
boundaries; a split inside a fenced code block closes the fence and reopens it in the next part
so the code still renders as code.
"""

from __future__ import annotations

from dataclasses import dataclass

from discord.utils import escape_markdown

from bot.adapters.discord.convert import BUTTON_PREFIX
from bot.adapters.payloads import DIGEST_MARK, REMEMBERED_PAYLOADS, DigestedPayloads
from bot.adapters.textsplit import sources_line, split_text, utf16_len
from bot.texts import say
from bot.texts.language import reply_language
from core.types import OutgoingMessage

TEXT_LIMIT = 2000
MAX_BUTTONS = 25
LABEL_LIMIT = 80
CUSTOM_ID_LIMIT = 100
_FENCE = "```"
_FENCE_ROOM = 8  # "\n```" closing one part and "```\n" reopening the next


@dataclass(frozen=True, slots=True)
class DiscordText:
    """One message: its content and (label, custom_id) buttons, on the last part only."""

    content: str
    buttons: tuple[tuple[str, str], ...] = ()


class ButtonPayloads:
    """Fits payloads into custom_ids; long ones travel as a digest looked up here."""

    def __init__(self, capacity: int = REMEMBERED_PAYLOADS) -> None:
        self._long = DigestedPayloads(capacity)

    def encode(self, payload: str) -> str:
        room = CUSTOM_ID_LIMIT - len(BUTTON_PREFIX)
        if len(payload) <= room and not payload.startswith(DIGEST_MARK):
            return BUTTON_PREFIX + payload
        return BUTTON_PREFIX + self._long.remember(payload)

    def decode(self, custom_id: str) -> str | None:
        """The payload behind one of our custom_ids; ``None`` if not ours or forgotten."""
        if not custom_id.startswith(BUTTON_PREFIX):
            return None
        data = custom_id[len(BUTTON_PREFIX) :]
        if data.startswith(DIGEST_MARK):
            return self._long.recall(data)
        return data


def render(message: OutgoingMessage, payloads: ButtonPayloads) -> list[DiscordText]:
    """The messages to send for ``message``, in order."""
    body = message.text.strip()
    line = sources_line(message.citations, reply_language(message))
    if line:
        body = f"{body}\n\n*{escape_markdown(line)}*".strip()
    parts = split_markdown(body, TEXT_LIMIT)
    if not parts and message.buttons:
        parts = [say("chat.choose", reply_language(message))]
    rendered = [DiscordText(content=part) for part in parts]
    if rendered and message.buttons:
        buttons = tuple(
            (button.title[:LABEL_LIMIT], payloads.encode(button.payload))
            for button in message.buttons[:MAX_BUTTONS]
        )
        rendered[-1] = DiscordText(content=rendered[-1].content, buttons=buttons)
    return rendered


def split_markdown(text: str, limit: int) -> list[str]:
    """Split Discord markdown at ``limit``, keeping fenced code blocks intact per part."""
    chunks = split_text(text, limit - _FENCE_ROOM, measure=utf16_len)
    parts: list[str] = []
    open_fence: str | None = None
    for chunk in chunks:
        if open_fence is not None:
            chunk = f"{open_fence}\n{chunk}"
        open_fence = _unclosed_fence(chunk)
        parts.append(f"{chunk}\n{_FENCE}" if open_fence is not None else chunk)
    return parts


def _unclosed_fence(text: str) -> str | None:
    """The opening fence (with its language) left open at the end of ``text``, if any."""
    opening: str | None = None
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith(_FENCE):
            opening = None if opening is not None else stripped.split()[0]
    return opening
