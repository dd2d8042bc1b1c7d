"""Discord channel (discord.py): direct messages, mentions, buttons, ``/kb`` slash commands."""

from bot.adapters.discord.adapter import DiscordAdapter

__all__ = ["DiscordAdapter"]
