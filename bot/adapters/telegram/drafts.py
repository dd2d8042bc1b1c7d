"""A generated answer shown in a private chat while the LLM writes it (``sendMessageDraft``).

Telegram shows a draft as a temporary preview; the finished answer is still sent with
``sendMessage`` (which also carries the sources line and the buttons). Drafts are best effort:
updates are throttled, and after the first refusal (an older Bot API, a flood limit, a text
too long for one message) the draft simply stops and the customer gets the final message.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable

import structlog
from telegram import Bot
from telegram.error import TelegramError

from bot.adapters.textsplit import utf16_len
from core.types import ConversationKey

log = structlog.get_logger(__name__)

DRAFT_LIMIT = 4096
"""UTF-16 code units, as for a message."""


class AnswerDraft:
    """Streams one answer into one private chat; pass :meth:`add` as the pipeline's sink."""

    def __init__(
        self,
        bot: Bot,
        key: ConversationKey,
        *,
        interval_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bot = bot
        self._chat_id = int(key.chat_id)
        self._thread_id = int(key.thread_id) if key.thread_id else None
        self._interval_s = interval_s
        self._clock = clock
        self.draft_id = secrets.randbelow(2**31 - 2) + 1  # non-zero, one per answer
        self._text = ""
        self._shown_at = -math.inf
        self.stopped = False

    async def add(self, piece: str) -> None:
        """Adds ``piece`` to the answer and shows it, at most once per interval."""
        self._text += piece
        now = self._clock()
        if self.stopped or not self._text.strip() or now - self._shown_at < self._interval_s:
            return
        if utf16_len(self._text) > DRAFT_LIMIT:
            self.stopped = True  # the final answer is split into several messages anyway
            return
        self._shown_at = now
        try:
            await self._bot.send_message_draft(
                chat_id=self._chat_id,
                draft_id=self.draft_id,
                text=self._text,
                message_thread_id=self._thread_id,
            )
        except TelegramError as e:
            self.stopped = True
            log.info("telegram.draft.stopped", chat=self._chat_id, error=str(e))
