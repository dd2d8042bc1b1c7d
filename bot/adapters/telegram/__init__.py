"""Telegram channel (python-telegram-bot): long polling or webhook, inline keyboards."""

from bot.adapters.telegram.adapter import TelegramAdapter

__all__ = ["TelegramAdapter"]
