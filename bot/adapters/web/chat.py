"""The web chat page: a plain HTML/JS page talking to the bot over a WebSocket."""

from __future__ import annotations

import contextlib
import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import structlog
from aiohttp import WSMsgType, web

from bot.adapters.base import StreamingHandler
from bot.adapters.web.convert import outgoing_to_rest, parse_sender, rest_to_incoming
from bot.adapters.web.outbox import Outbox
from bot.pipeline import new_message_id
from core.errors import InputError
from core.types import ConversationKey, OutgoingMessage

log = structlog.get_logger(__name__)
STATIC = Path(__file__).parent / "static"
MAX_FRAME_BYTES = 1_048_576


def reply_frame(sender: str, message: OutgoingMessage) -> dict[str, Any]:
    return {"type": "reply", **outgoing_to_rest(sender, message)}


class WebChatChannel:
    """Serves ``/`` (the page) and ``/ws`` (one WebSocket per open browser tab)."""

    platform = "web"

    def __init__(self, handler: StreamingHandler) -> None:
        self._handler = handler
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
        return [web.get("/", self._page), web.get("/ws", self._socket)]

    async def _page(self, request: web.Request) -> web.FileResponse:
        """The web chat page for customers."""
        return web.FileResponse(STATIC / "index.html")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """The web chat's WebSocket: customer messages in, the bot's and agents' replies out.

        Generated answers arrive as streamed drafts first.
        """
        ws = web.WebSocketResponse(heartbeat=30, max_msg_size=MAX_FRAME_BYTES)
        await ws.prepare(request)
        try:
            sender = parse_sender(request.query.get("sender"))
        except InputError as error:
            await ws.send_json({"type": "error", "error": str(error)})
            await ws.close()
            return ws
        self._sockets[sender].add(ws)
        try:
            for pending in self._outbox.take(sender):
                await ws.send_json(reply_frame(sender, pending))
            async for frame in ws:
                if frame.type is WSMsgType.TEXT:
                    await self._on_frame(ws, sender, frame.data)
        finally:
            self._sockets[sender].discard(ws)
            if not self._sockets[sender]:
                del self._sockets[sender]
        return ws

    async def _on_frame(self, ws: web.WebSocketResponse, sender: str, data: str) -> None:
        try:
            frame = json.loads(data)
            if not isinstance(frame, dict) or frame.get("type", "message") != "message":
                raise InputError("frames must be objects of type 'message'")
            incoming = rest_to_incoming(
                {"sender": sender, "message": frame.get("text")}, new_message_id(), self.platform
            )
        except (json.JSONDecodeError, InputError) as error:
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
