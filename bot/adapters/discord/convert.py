"""Pure conversions from discord.py objects (built from gateway payloads) to Kefu's types.

Direct messages are always answered; in guild channels the bot answers when it is mentioned or
when a message replies to one of its own. Slash commands and button presses arrive as
interactions and become the text the customer would have typed (``/kb reload``, the payload).
"""

from __future__ import annotations

import re
from typing import Any

import discord

from core.types import ConversationKey, IncomingMessage

PLATFORM = "discord"
BUTTON_PREFIX = "kefu:"
"""custom_id prefix of the bot's buttons; other components are left alone."""


def message_to_incoming(message: discord.Message, bot_id: int) -> IncomingMessage | None:
    """Convert a gateway MESSAGE_CREATE.

    Returns:
        ``None`` for bots (the bot itself included), system messages and guild messages not
        addressed to the bot. Attachments come through with ``parts`` set and the text (if
        any); the pipeline answers them.
    """
    if message.author.bot or message.type not in (
        discord.MessageType.default,
        discord.MessageType.reply,
    ):
        return None
    text = message.content
    if not is_private(message.channel):
        if not _addressed_to_bot(message, bot_id):
            return None
        text = re.sub(rf"<@!?{bot_id}>", " ", text)
    text = re.sub(r"[ \t]{2,}", " ", text).strip()
    parts = attachment_kinds(message)
    if not text and not parts:
        return None
    return IncomingMessage(
        message_id=str(message.id),
        key=ConversationKey(PLATFORM, str(message.channel.id), str(message.author.id)),
        text=text,
        sender_name=message.author.display_name,
        timestamp=message.created_at,
        parts=parts,
        raw=_message_json(message),
    )


def command_to_incoming(interaction: discord.Interaction[Any], text: str) -> IncomingMessage:
    """A slash command as the text an admin would type, e.g. ``/kb search refund``."""
    return _from_interaction(interaction, text)


def button_to_incoming(interaction: discord.Interaction[Any], payload: str) -> IncomingMessage:
    """A button press: its payload becomes the customer's text."""
    return _from_interaction(interaction, payload)


def is_private(channel: object) -> bool:
    """Direct (or group direct) message channel, where every message is for the bot."""
    if isinstance(channel, discord.DMChannel | discord.GroupChannel):
        return True
    return isinstance(channel, discord.PartialMessageable) and channel.guild_id is None


def attachment_kinds(message: discord.Message) -> tuple[str, ...]:
    """``"image"``/``"file"`` per attachment and ``"sticker"`` per sticker."""
    kinds = [
        "image" if (a.content_type or "").startswith("image/") else "file"
        for a in message.attachments
    ]
    kinds += ["sticker"] * len(message.stickers)
    return tuple(kinds)


def _addressed_to_bot(message: discord.Message, bot_id: int) -> bool:
    if bot_id in message.raw_mentions or any(user.id == bot_id for user in message.mentions):
        return True
    reference = message.reference
    resolved = reference.resolved if reference is not None else None
    return isinstance(resolved, discord.Message) and resolved.author.id == bot_id


def _from_interaction(interaction: discord.Interaction[Any], text: str) -> IncomingMessage:
    channel_id = interaction.channel_id or interaction.user.id
    return IncomingMessage(
        message_id=f"interaction:{interaction.id}",
        key=ConversationKey(PLATFORM, str(channel_id), str(interaction.user.id)),
        text=text,
        sender_name=interaction.user.display_name,
        timestamp=interaction.created_at,
        raw={
            "interaction_id": str(interaction.id),
            "type": interaction.type.value,
            "guild_id": str(interaction.guild_id) if interaction.guild_id else None,
            "channel_id": str(channel_id),
            "user_id": str(interaction.user.id),
            "data": dict(interaction.data or {}),
        },
    )


def _message_json(message: discord.Message) -> dict[str, Any]:
    guild_id = message.guild.id if message.guild else getattr(message.channel, "guild_id", None)
    return {
        "id": str(message.id),
        "channel_id": str(message.channel.id),
        "guild_id": str(guild_id) if guild_id else None,
        "author": {"id": str(message.author.id), "username": message.author.name},
        "content": message.content,
        "attachments": [
            {"filename": a.filename, "content_type": a.content_type, "size": a.size}
            for a in message.attachments
        ],
        "reference": str(message.reference.message_id) if message.reference else None,
    }
