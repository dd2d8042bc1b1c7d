"""The web chat page: a plain HTML/JS page talking to the bot over a WebSocket."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import structlog
from aiohttp import WSMsgType, web

from bot.adapters.base import StreamingHandler
from bot.adapters.web.convert import outgoing_to_rest, rest_to_incoming
from bot.adapters.web.identity import Customer, CustomerIdentity
from bot.adapters.web.origins import OriginPolicy
from bot.adapters.web.outbox import Outbox
from bot.pipeline import new_message_id
from core.errors import InputError
from core.types import ConversationKey, OutgoingMessage
from core.untrusted import parse_json

log = structlog.get_logger(__name__)
STATIC = Path(__file__).parent / "static"
MAX_FRAME_BYTES = 1_048_576


def session_frame(customer: Customer) -> dict[str, Any]:
    """Who this socket speaks for; a new token is to be kept by the page for next time."""
    frame: dict[str, Any] = {"type": "session", "sender": customer.sender, "kind": customer.kind}
    if customer.token is not None:
        frame["token"] = customer.token
    return frame


def reply_frame(sender: str, message: OutgoingMessage) -> dict[str, Any]:
    return {"type": "reply", **outgoing_to_rest(sender, message)}


class WebChatChannel:
    """Serves ``/`` (the page) and ``/ws`` (one WebSocket per open browser tab)."""

    platform = "web"

    def __init__(
        self, handler: StreamingHandler, identity: CustomerIdentity, origins: OriginPolicy
    ) -> None:
        self._handler = handler
        self._identity = identity
        self._origins = origins
        self._sockets: defaultdict[str, set[web.WebSocketResponse]] = defaultdict(set)
        self._outbox = Outbox()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        for sockets in list(self._sockets.values()):
            for ws in list(sockets):
                await ws.close()

    async def send(self, key: ConversationKey, message: OutgoingMessage) -> None:
        sockets = self._sockets.get(key.chat_id)
        if not sockets:
            self._outbox.put(key.chat_id, message)
            return
        for ws in list(sockets):
            await ws.send_json(reply_frame(key.chat_id, message))

    def routes(self) -> Sequence[web.RouteDef]:
        return [
            web.get("/", self._page),
            web.get("/widget.js", self._widget),
            web.get("/ws", self._socket),
        ]

    async def _page(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    async def _widget(self, request: web.Request) -> web.FileResponse:
        """The embeddable chat: any site may load the script; ``/ws`` checks who may connect."""
        headers = {"Content-Type": "application/javascript", "Cache-Control": "no-cache"}
        return web.FileResponse(STATIC / "widget.js", headers=headers)

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        if not self._origins.allows(request):  # another site's page: refuse the handshake
            log.warning("web.origin.refused", path=request.path)
            return web.json_response({"error": "this site may not use the chat"}, status=403)
        ws = web.WebSocketResponse(heartbeat=30, max_msg_size=MAX_FRAME_BYTES)
        await ws.prepare(request)
        try:
            customer = await self._identity.customer_of(request, new_visitor=True)
        except InputError as error:
            await ws.send_json({"type": "error", "error": str(error), "code": "unauthenticated"})
            await ws.close()
            return ws
        sender = customer.sender
        self._sockets[sender].add(ws)
        try:
            await ws.send_json(session_frame(customer))
            for pending in self._outbox.take(sender):
                await ws.send_json(reply_frame(sender, pending))
            async for frame in ws:
                if frame.type is WSMsgType.TEXT:
                    await self._on_frame(ws, sender, frame.data)
                elif frame.type is WSMsgType.BINARY:
                    await ws.send_json({"type": "error", "error": "send JSON text frames"})
        finally:
            self._sockets[sender].discard(ws)
            if not self._sockets[sender]:
                del self._sockets[sender]
        return ws

    async def _on_frame(self, ws: web.WebSocketResponse, sender: str, data: str) -> None:
        try:
            frame = parse_json(data)
            if not isinstance(frame, dict) or frame.get("type", "message") != "message":
                raise InputError("frames must be objects of type 'message'")
            incoming = rest_to_incoming(
                {"sender": sender, "message": frame.get("text")}, new_message_id(), self.platform
            )
        except InputError as error:
            await ws.send_json({"type": "error", "error": str(error)})
            return
        await ws.send_json({"type": "typing"})
        draft = AnswerDraft(ws, new_message_id())
        replies = await self._handler(incoming, stream=draft.add)
        for index, reply in enumerate(replies):
            frame = reply_frame(sender, reply)
            if index == 0 and draft.shown:
                frame["replaces"] = draft.stream_id
            try:
                await ws.send_json(frame)
            except ConnectionResetError:  # the tab went away meanwhile: keep it for later
                self._outbox.put(sender, reply)


class AnswerDraft:
    """An answer shown piece by piece in one browser tab while the model writes it.

    Frames: ``{"type": "delta", "stream_id", "text"}`` per piece; the final ``reply`` frame
    then carries ``"replaces": stream_id`` and the page swaps the draft for it (the final text
    has checked citations, or is the extractive answer if the model failed halfway).
    """

    def __init__(self, ws: web.WebSocketResponse, stream_id: str) -> None:
        self._ws = ws
        self.stream_id = stream_id
        self.shown = False

    async def add(self, piece: str) -> None:
        if self._ws.closed or not piece:
            return  # the answer is still generated, recorded and kept for the customer
        with contextlib.suppress(ConnectionResetError):
            await self._ws.send_json({"type": "delta", "stream_id": self.stream_id, "text": piece})
            self.shown = True
