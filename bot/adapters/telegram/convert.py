"""Pure conversions from Telegram updates to Kefu's :class:`IncomingMessage`.

Private chats are always answered; in groups the bot answers only when it is mentioned, when
a message replies to one of its own, or for a command addressed to it (``/kb`` or
``/kb@kefu_bot``), the way people expect a bot in a group to behave.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from telegram import CallbackQuery, Chat, Message, MessageEntity, Update

from core.types import ConversationKey, IncomingMessage, utcnow

PLATFORM = "telegram"

_ATTACHMENTS: tuple[tuple[str, str], ...] = (
    ("photo", "photo"),
    ("document", "file"),
    ("voice", "voice"),
    ("audio", "audio"),
    ("video", "video"),
    ("video_note", "video"),
    ("animation", "animation"),
    ("sticker", "sticker"),
    ("location", "location"),
    ("contact", "contact"),
)


@dataclass(frozen=True, slots=True)
class BotIdentity:
    """Who the bot is (from getMe), to recognise mentions and replies in groups."""

    id: int
    username: str


def message_to_incoming(update: Update, bot: BotIdentity) -> IncomingMessage | None:
    """Convert a new-message update.

    Returns:
        ``None`` for anything the bot should not answer: edits, channel posts, other bots,
        service messages, and group messages that are not addressed to the bot. Attachments
        come through with ``parts`` set (text is the caption, if any); the pipeline answers them.
    """
    message = update.message
    if message is None or message.from_user is None or message.from_user.is_bot:
        return None
    text = message.text or message.caption or ""
    if message.chat.type != Chat.PRIVATE:
        if not _addressed_to_bot(message, bot):
            return None
        text = _strip_mention(text, bot.username)
    text = _plain_command(text, bot.username)
    parts = attachment_kinds(message)
    if not text.strip() and not parts:
        return None
    return IncomingMessage(
        message_id=f"{message.chat.id}:{message.message_id}",
        key=conversation_key(message),
        text=text.strip(),
        sender_name=message.from_user.full_name,
        timestamp=message.date or utcnow(),  # a malformed update may lack it
        parts=parts,
        raw=update.to_dict(),
        locale=message.from_user.language_code,
    )


def callback_to_incoming(update: Update, payload: str) -> IncomingMessage | None:
    """Convert a button press: the button's payload becomes the customer's text."""
    query: CallbackQuery | None = update.callback_query
    if query is None or query.message is None or not isinstance(query.message, Message):
        return None
    message = query.message
    thread = str(message.message_thread_id) if message.is_topic_message else None
    return IncomingMessage(
        message_id=f"callback:{query.id}",
        key=ConversationKey(PLATFORM, str(message.chat.id), str(query.from_user.id), thread),
        text=payload,
        sender_name=query.from_user.full_name,
        raw=update.to_dict(),
        locale=query.from_user.language_code,
    )


def conversation_key(message: Message) -> ConversationKey:
    """One conversation per user per chat (and per forum topic)."""
    user_id = str(message.from_user.id) if message.from_user else str(message.chat.id)
    thread = str(message.message_thread_id) if message.is_topic_message else None
    return ConversationKey(PLATFORM, str(message.chat.id), user_id, thread)


def attachment_kinds(message: Message) -> tuple[str, ...]:
    """Kinds of non-text content in ``message`` (``"photo"``, ``"file"``...)."""
    return tuple(kind for field, kind in _ATTACHMENTS if getattr(message, field))


def _addressed_to_bot(message: Message, bot: BotIdentity) -> bool:
    reply = message.reply_to_message
    if reply is not None and reply.from_user is not None and reply.from_user.id == bot.id:
        return True
    handle = "@" + bot.username.lower()
    mention_kinds: list[str | None] = [MessageEntity.MENTION, MessageEntity.TEXT_MENTION]
    found = {
        **message.parse_entities(mention_kinds),
        **message.parse_caption_entities(mention_kinds),
    }
    for entity, text in found.items():
        if text.lower() == handle or (entity.user is not None and entity.user.id == bot.id):
            return True
    commands = message.parse_entities([MessageEntity.BOT_COMMAND])
    for entity, text in commands.items():
        target = text.partition("@")[2].lower()
        if entity.offset == 0 and target in ("", bot.username.lower()):
            return True
    return False


def _strip_mention(text: str, username: str) -> str:
    without = re.sub(rf"(?<!\w)@{re.escape(username)}\b", " ", text, flags=re.IGNORECASE)
    return re.sub(r"[ \t]{2,}", " ", without).strip()


def _plain_command(text: str, username: str) -> str:
    """``/kb@kefu_bot reload`` -> ``/kb reload``, so the pipeline sees one command syntax."""
    return re.sub(rf"^(/\w+)@{re.escape(username)}\b", r"\1", text, flags=re.IGNORECASE)


def well_formed(update: Update) -> bool:
    """Whether the ids and text of an update have Telegram's types (python-telegram-bot does
    not check them; a forged ``"chat": {"id": {}}`` would fail later, deep in processing)."""
    if not isinstance(update.update_id, int):
        return False
    ids = [
        thing.id for thing in (update.effective_chat, update.effective_user) if thing is not None
    ]
    message = update.effective_message
    if message is not None:
        ids.append(message.message_id)
        if not isinstance(message.text, str | None) or not isinstance(message.caption, str | None):
            return False
    return all(isinstance(value, int) and not isinstance(value, bool) for value in ids)
