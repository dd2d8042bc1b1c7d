"""Pure conversions between WeCom callback XML / API JSON and Kefu's message types.

XML is parsed with the standard library: on Python 3.11 with expat >= 2.4.1 ``xml.etree`` is
not open to entity-expansion attacks and never fetches external entities, and bodies are size
capped before parsing.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.adapters.textsplit import sources_line, split_text, utf8_len
from bot.texts import say
from bot.texts.language import reply_language
from core.errors import InputError
from core.text import Language
from core.types import Button, ConversationKey, IncomingMessage, OutgoingMessage

PLATFORM = "wecom"
TEXT_LIMIT_BYTES = 2048
"""message/send truncates text content past 2048 bytes (UTF-8)."""

_ATTACHMENT_KINDS = {
    "image": "image",
    "voice": "voice",
    "video": "video",
    "file": "file",
    "location": "location",
    "link": "link",
}


@dataclass(frozen=True, slots=True)
class SignedQuery:
    """The signature parameters WeCom adds to every callback URL."""

    msg_signature: str
    timestamp: str
    nonce: str

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> SignedQuery:
        """Raises:
        InputError: a parameter is missing.
        """
        try:
            return cls(query["msg_signature"], query["timestamp"], query["nonce"])
        except KeyError as e:
            raise InputError(f"missing query parameter {e.args[0]}") from e


def echostr_of(query: Mapping[str, str]) -> str:
    """The ``echostr`` of a URL verification (GET).

    Raises:
        InputError: it is missing.
    """
    if "echostr" not in query:
        raise InputError("missing query parameter echostr")
    # base64 has no spaces: a space here is a "+" that was form-decoded on the way.
    return query["echostr"].replace(" ", "+")


def encrypted_field(body: bytes) -> str:
    """The ``<Encrypt>`` text of a callback POST body.

    Raises:
        InputError: the body is not XML or has no ``Encrypt`` element.
    """
    root = _parse_xml(body)
    value = root.findtext("Encrypt")
    if not value:
        raise InputError("callback body has no Encrypt element")
    return value.strip()


def fields_of(plaintext: str) -> dict[str, str]:
    """The decrypted callback XML as a flat ``{tag: text}`` dict (WeCom's XML is flat)."""
    root = _parse_xml(plaintext.encode("utf-8"))
    return {child.tag: (child.text or "").strip() for child in root}


def dedupe_key(fields: dict[str, str]) -> str:
    """What identifies one callback across WeCom's retries.

    ``MsgId`` when there is one; events have none, so they use sender, time, event and key
    (several distinct messages can share a second, so time alone would drop some).
    """
    if fields.get("MsgId"):
        return "msg:" + fields["MsgId"]
    parts = ("FromUserName", "CreateTime", "Event", "EventKey", "ChangeType")
    return "event:" + "|".join(fields.get(name, "") for name in parts)


def to_incoming(fields: dict[str, str]) -> IncomingMessage | None:
    """Convert a decrypted callback into an :class:`IncomingMessage`.

    Returns:
        ``None`` for events (entering the app, menu views) and for anything without a sender.
        Attachments come through with ``parts`` set and empty text; the pipeline answers them.
    """
    msg_type = fields.get("MsgType", "")
    user_id = fields.get("FromUserName", "")
    if not user_id or msg_type == "event" or not fields.get("MsgId"):
        return None
    parts: tuple[str, ...] = ()
    if msg_type == "text":
        text = fields.get("Content", "")
    elif msg_type in _ATTACHMENT_KINDS:
        text, parts = "", (_ATTACHMENT_KINDS[msg_type],)
    else:
        return None
    return IncomingMessage(
        message_id=fields["MsgId"],
        key=ConversationKey(PLATFORM, chat_id=user_id, user_id=user_id),
        text=text,
        timestamp=_timestamp(fields.get("CreateTime", "")),
        parts=parts,
        raw=dict(fields),
    )


def render(message: OutgoingMessage) -> list[str]:
    """The ``text.content`` of each message/send call for ``message``.

    Buttons become numbered options (WeCom text has no buttons); the customer answers with the
    number and :func:`resolve_choice` turns it back into the button's payload.
    """
    extra: list[str] = []
    if message.buttons:
        extra.append(numbered_options(message.buttons, reply_language(message)))
    line = sources_line(message.citations, reply_language(message))
    if line:
        extra.append(line)
    full = "\n\n".join([message.text.strip(), *extra]).strip()
    return split_text(full, TEXT_LIMIT_BYTES, measure=utf8_len)


def numbered_options(buttons: Sequence[Button], language: Language) -> str:
    """``1. Title`` lines and a hint, in the reply's language."""
    lines = [f"{number}. {button.title}" for number, button in enumerate(buttons, start=1)]
    hint = say("chat.choose_by_number", language)
    return "\n".join([*lines, hint])


def resolve_choice(text: str, offered: Sequence[Button]) -> str | None:
    """The payload of the option the customer picked by number (``"2"``, ``"２"``), if any."""
    choice = text.strip()
    if not choice.isdecimal():
        return None
    index = int(choice) - 1  # int() accepts full-width digits too
    if 0 <= index < len(offered):
        return offered[index].payload
    return None


def send_payload(agent_id: int, user_id: str, content: str) -> dict[str, object]:
    """The JSON body of a message/send text call."""
    return {
        "touser": user_id,
        "msgtype": "text",
        "agentid": agent_id,
        "text": {"content": content},
        "safe": 0,
    }


def _parse_xml(body: bytes) -> ET.Element:
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise InputError("XML with a document type is not a WeCom callback")
    try:
        return ET.fromstring(body)
    except ET.ParseError as e:
        raise InputError(f"malformed XML: {e}") from e


def _timestamp(value: str) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (ValueError, OverflowError):
        return datetime.now(UTC)
