"""Telegram channel (python-telegram-bot): long polling or webhook, inline keyboards."""

import os

# Opt in to python-telegram-bot's coming behaviour (durations as timedelta, e.g. a flood-wait
# RetryAfter); without it, PTB 22 warns on every rate limit. Set before PTB builds any.
os.environ.setdefault("PTB_TIMEDELTA", "1")

from bot.adapters.telegram.adapter import TelegramAdapter

__all__ = ["TelegramAdapter"]
