"""The one small contract between platforms and the core."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from aiohttp import web

from core.types import ConversationKey, IncomingMessage, OutgoingMessage, StreamSink

MessageHandler = Callable[[IncomingMessage], Awaitable[Sequence[OutgoingMessage]]]
"""The pipeline as adapters see it: one customer message in, the bot's replies out."""


class StreamingHandler(Protocol):
    """The pipeline for channels that can show an answer while it is generated."""

    def __call__(
        self, message: IncomingMessage, *, stream: StreamSink | None = None
    ) -> Awaitable[Sequence[OutgoingMessage]]:
        """Like :data:`MessageHandler`; ``stream`` gets the generated answer's pieces and the
        first reply returned is the final answer that replaces them."""
        ...


class Adapter(Protocol):
    """A platform channel. No network I/O in the constructor; that belongs in ``start``."""

    platform: str

    async def start(self) -> None:
        """Begin receiving (long poll, gateway); webhook adapters may do nothing here."""

    async def stop(self) -> None:
        """Stop receiving and release connections."""

    async def send(self, key: ConversationKey, message: OutgoingMessage) -> None:
        """Deliver ``message`` to the conversation ``key`` (used for later, agent replies too)."""

    def routes(self) -> Sequence[web.RouteDef]:
        """HTTP routes (webhooks, pages) to mount on the one aiohttp server."""
        ...
