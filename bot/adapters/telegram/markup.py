"""Rendering an :class:`OutgoingMessage` as Telegram messages (HTML parse mode).

Reply text is plain text: it is split first (4096 UTF-16 code units, counted after entity
parsing, as Telegram counts) and only then escaped, so no split can fall inside an entity and
Telegram never rejects a message for its markup. The only tag the bot adds is ``<i>`` around
the sources line.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from bot.adapters.payloads import DIGEST_MARK, REMEMBERED_PAYLOADS, DigestedPayloads
from bot.adapters.textsplit import sources_line, split_text, utf16_len
from bot.texts import say
from bot.texts.language import reply_language
from core.types import OutgoingMessage

TEXT_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64  # bytes


@dataclass(frozen=True, slots=True)
class TelegramText:
    """One sendMessage call: ``html`` for parse_mode HTML, ``plain`` as a fallback."""

    html: str
    plain: str
    buttons: tuple[tuple[str, str], ...] = ()
    """(title, callback_data), one per keyboard row; on the last message only."""


class CallbackPayloads:
    """Fits button payloads into callback_data (at most 64 bytes).

    Short payloads travel as they are. Longer ones travel as ``#`` + a digest and are looked
    up here; after a restart such an old button is reported as expired, never misread.
    """

    def __init__(self, capacity: int = REMEMBERED_PAYLOADS) -> None:
        self._long = DigestedPayloads(capacity)
        self._new: dict[str, str] = {}

    def drain_new(self) -> dict[str, str]:
        """The long payloads encoded since the last call (digest -> payload), for the adapter
        to store where every worker finds them."""
        new, self._new = self._new, {}
        return new

    def encode(self, payload: str) -> str:
        """The callback_data for ``payload``."""
        if len(payload.encode("utf-8")) <= CALLBACK_DATA_LIMIT and not payload.startswith(
            DIGEST_MARK
        ):
            return payload
        digest = self._long.remember(payload)
        self._new[digest] = payload
        return digest

    def decode(self, data: str) -> str | None:
        """The payload behind ``data``, or ``None`` when it is no longer known."""
        if data.startswith(DIGEST_MARK):
            return self._long.recall(data)
        return data


def render(message: OutgoingMessage, payloads: CallbackPayloads) -> list[TelegramText]:
    """The sendMessage calls for ``message``, in order.

    The sources line goes under the last chunk (or into its own message when it does not fit)
    and the inline keyboard on the last message.
    """
    chunks = split_text(message.text, TEXT_LIMIT, measure=utf16_len)
    if not chunks and message.buttons:
        chunks = [say("chat.choose", reply_language(message))]
    rendered = [TelegramText(html=html.escape(chunk, quote=False), plain=chunk) for chunk in chunks]
    line = sources_line(message.citations, reply_language(message))
    if line:
        rendered = _with_sources(rendered, line)
    if rendered and message.buttons:
        keyboard = tuple(
            (button.title, payloads.encode(button.payload)) for button in message.buttons
        )
        last = rendered[-1]
        rendered[-1] = TelegramText(html=last.html, plain=last.plain, buttons=keyboard)
    return rendered


def _with_sources(rendered: list[TelegramText], line: str) -> list[TelegramText]:
    line = split_text(line, TEXT_LIMIT - 2, measure=utf16_len)[0]
    marked = f"<i>{html.escape(line, quote=False)}</i>"
    if rendered and utf16_len(rendered[-1].plain) + 2 + utf16_len(line) <= TEXT_LIMIT:
        last = rendered[-1]
        joined = TelegramText(html=f"{last.html}\n\n{marked}", plain=f"{last.plain}\n\n{line}")
        return [*rendered[:-1], joined]
    return [*rendered, TelegramText(html=marked, plain=line)]
