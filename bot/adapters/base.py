"""The one small contract between platforms and the core."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from aiohttp import web

from core.storage.outbox import OutboxEntry
from core.types import ConversationKey, IncomingMessage, OutgoingMessage, StreamSink

MessageHandler = Callable[[IncomingMessage], Awaitable[Sequence[OutgoingMessage]]]
"""The pipeline as adapters see it: one customer message in, the bot's replies out."""


class Runner(Protocol):
    """The conversation runner as adapters see it: they hand it messages, nothing else.

    It records each message durably, answers the messages of one conversation one at a
    time in arrival order (across workers), stores every reply in the outbox and has it
    delivered through :meth:`Adapter.send`, with retries. Adapters keep no locks, dedupe or
    apology loops of their own.
    """

    accepting: bool

    async def handle(
        self,
        message: IncomingMessage,
        *,
        stream: StreamSink | None = None,
        take_waiting: bool = True,
    ) -> list[OutboxEntry]:
        """Record, answer and return the replies (with the conversation's waiting messages
        when ``take_waiting``), which the caller hands over itself (a pull channel: HTTP
        response, web socket, console, a Discord command's follow-up).

        Raises ``ShuttingDown`` while draining and ``StorageError`` when the database fails.
        """
        ...

    async def accept(self, message: IncomingMessage, *, stream: StreamSink | None = None) -> None:
        """Record durably and answer in the background (push platforms, webhooks: acknowledge
        once this returns). Raises like :meth:`handle`."""
        ...


class Adapter(Protocol):
    """A platform channel. No network I/O in the constructor; that belongs in ``start``."""

    platform: str
    delivery: str
    """``push``: the outbox delivers every reply through :meth:`send`; ``pull``: the channel
    hands replies over itself and takes waiting messages from the outbox."""

    async def start(self) -> None:
        """Begin receiving (long poll, gateway); webhook adapters may do nothing here."""

    async def stop(self) -> None:
        """Stop receiving and release connections."""

    async def send(self, key: ConversationKey, message: OutgoingMessage) -> None:
        """Deliver ``message`` to the conversation ``key`` (used for later, agent replies too)."""

    def routes(self) -> Sequence[web.RouteDef]:
        """HTTP routes (webhooks, pages) to mount on the one aiohttp server."""
        ...
