"""Frozen, platform-neutral messages that cross the seam between adapters and the pipeline."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

JSONValue = Any
"""A value that `json.dumps` accepts; `raw` payloads hold JSON, never SDK objects."""

StreamSink = Callable[[str], Awaitable[None]]
"""Awaited with each piece of an answer while it is generated (the web chat's WebSocket);
the pieces join to the draft that the final :class:`OutgoingMessage` replaces."""


@dataclass(slots=True, frozen=True)
class ConversationKey:
    """Identifies one conversation: who, where, on which platform.

    Sending by key (not by "reply to this event") lets a human agent's answer reach the
    customer later.
    """

    platform: str
    chat_id: str
    user_id: str
    thread_id: str | None = None

    def as_str(self) -> str:
        """Stable string form used as the database key, e.g. ``rest:alice:alice:``."""
        return f"{self.platform}:{self.chat_id}:{self.user_id}:{self.thread_id or ''}"

    @classmethod
    def parse(cls, text: str) -> ConversationKey:
        """Inverse of :meth:`as_str`.

        Raises:
            ValueError: if ``text`` does not have four colon-separated parts.
        """
        parts = text.split(":")
        if len(parts) < 4:
            raise ValueError(f"not a conversation key: {text!r}")
        platform, chat_id, user_id = parts[0], parts[1], parts[2]
        thread = ":".join(parts[3:])
        return cls(platform, chat_id, user_id, thread or None)


@dataclass(slots=True, frozen=True)
class Button:
    """A quick reply: the customer sees ``title``; the bot receives ``payload`` as text."""

    title: str
    payload: str


@dataclass(slots=True, frozen=True)
class Citation:
    """Where an answer came from."""

    source: str
    title: str
    section: str | None = None
    chunk_id: str | None = None
    score: float | None = None
    doc_id: str | None = None
    """The id the source gave the entry (an FAQ row's ``id``), so a reviewer can find it."""
    quote: str | None = None
    """The sentence(s) of the source the answer rests on, for the customer to check."""
    anchor: str | None = None
    """A fragment naming the section (``returns-and-refunds.md#退货运费``) the web chat can
    link to."""
    kind: str | None = None
    """``faq`` for a curated FAQ entry, ``doc`` for a document passage."""

    def to_json(self) -> dict[str, JSONValue]:
        return {
            "source": self.source,
            "title": self.title,
            "section": self.section,
            "chunk_id": self.chunk_id,
            "score": self.score,
            "doc_id": self.doc_id,
            "quote": self.quote,
            "anchor": self.anchor,
            "kind": self.kind,
        }


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True, frozen=True)
class IncomingMessage:
    """One customer message, converted from a platform event by an adapter."""

    message_id: str
    key: ConversationKey
    text: str
    sender_name: str | None = None
    timestamp: datetime = field(default_factory=utcnow)
    parts: tuple[str, ...] = ()
    """Kinds of non-text parts (``"photo"``, ``"file"``); the bot answers text only for now."""
    raw: Mapping[str, JSONValue] = field(default_factory=dict)
    """The platform's payload as JSON. ``raw["reply_to"]``, when an adapter sets it, is the
    message id the answers should refer to (None: none); by default the message itself."""
    locale: str | None = None
    """The customer's language as their platform reports it (Telegram's ``language_code``),
    when it does; it names the reply language only where the text cannot (see
    :func:`core.text.turn_language`)."""

    def to_json(self) -> dict[str, JSONValue]:
        """What the durable inbox stores, so another worker can answer it after a crash."""
        return {
            "message_id": self.message_id,
            "key": self.key.as_str(),
            "text": self.text,
            "sender_name": self.sender_name,
            "timestamp": self.timestamp.isoformat(),
            "parts": list(self.parts),
            "raw": dict(self.raw),
            "locale": self.locale,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, JSONValue]) -> IncomingMessage:
        """Inverse of :meth:`to_json`."""
        return cls(
            message_id=str(data["message_id"]),
            key=ConversationKey.parse(str(data["key"])),
            text=str(data["text"]),
            sender_name=data.get("sender_name"),
            timestamp=datetime.fromisoformat(str(data["timestamp"])),
            parts=tuple(data.get("parts") or ()),
            raw=dict(data.get("raw") or {}),
            locale=data.get("locale"),
        )


@dataclass(slots=True, frozen=True)
class OutgoingMessage:
    """One bot (or agent) message, rendered by each adapter as the platform allows."""

    text: str
    buttons: tuple[Button, ...] = ()
    citations: tuple[Citation, ...] = ()
    intent: str | None = None
    custom: Mapping[str, JSONValue] = field(default_factory=dict)
    """Extra machine-readable data: handoff state, answer kind, confidence."""
    reply_to: str | None = None
    """The platform message id this answers; adapters that thread replies (Telegram groups)
    use it, the others ignore it."""
    language: str | None = None
    """The customer's language, decided once per turn by the pipeline (or the handoff's
    language for an agent's message); renderers use it for their own words ("Sources")."""

    def to_json(self) -> dict[str, JSONValue]:
        """What the durable outbox stores until the platform has taken the message."""
        return {
            "text": self.text,
            "buttons": [{"title": b.title, "payload": b.payload} for b in self.buttons],
            "citations": [c.to_json() for c in self.citations],
            "intent": self.intent,
            "custom": dict(self.custom),
            "reply_to": self.reply_to,
            "language": self.language,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, JSONValue]) -> OutgoingMessage:
        """Inverse of :meth:`to_json`."""
        return cls(
            text=str(data["text"]),
            buttons=tuple(Button(str(b["title"]), str(b["payload"])) for b in data["buttons"]),
            citations=tuple(Citation(**c) for c in data["citations"]),
            intent=data.get("intent"),
            custom=dict(data.get("custom") or {}),
            reply_to=data.get("reply_to"),
            language=data.get("language"),
        )
