"""The web chat page: a plain HTML/JS page talking to the bot over a WebSocket."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import structlog
from aiohttp import WSMsgType, web

from bot.adapters.base import Runner
from bot.adapters.textsplit import sorry_text
from bot.adapters.web.convert import outgoing_to_rest, rest_to_incoming
from bot.adapters.web.identity import Customer, CustomerIdentity
from bot.adapters.web.origins import OriginPolicy
from bot.pipeline import new_message_id
from bot.runtime.runner import ShuttingDown
from core.errors import InputError, NotConnected, StorageError
from core.storage.outbox import OutboxEntry, OutboxStore
from core.types import ConversationKey, OutgoingMessage
from core.untrusted import parse_json

log = structlog.get_logger(__name__)
STATIC = Path(__file__).parent / "static"
MAX_FRAME_BYTES = 1_048_576


def reply_frame(sender: str, message: OutgoingMessage) -> dict[str, Any]:
    return {"type": "reply", **outgoing_to_rest(sender, message)}


def session_frame(customer: Customer) -> dict[str, Any]:
    """Who this socket speaks for; a new token is to be kept by the page for next time."""
    frame: dict[str, Any] = {"type": "session", "sender": customer.sender, "kind": customer.kind}
    if customer.token is not None:
        frame["token"] = customer.token
    return frame


def _key(sender: str) -> ConversationKey:
    return ConversationKey(WebChatChannel.platform, sender, sender)


class WebChatChannel:
    """Serves ``/`` (the page) and ``/ws`` (one WebSocket per open browser tab).

    Replies to a message go back on the socket it came from. Later messages (an agent's
    reply, answered on any worker) wait in the database's outbox; the worker holding the
    customer's socket pushes them when the bus says they are there, and a tab that connects
    gets whatever is still waiting.
    """

    platform = "web"
    delivery = "pull"

    def __init__(
        self,
        runner: Runner,
        outbox: OutboxStore,
        identity: CustomerIdentity,
        origins: OriginPolicy,
    ) -> None:
        self._runner = runner
        self._outbox = outbox
        self._identity = identity
        self._origins = origins
        self._sockets: defaultdict[str, set[web.WebSocketResponse]] = defaultdict(set)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        for sockets in list(self._sockets.values()):
            for ws in list(sockets):
                await ws.close()

    async def send(self, key: ConversationKey, message: OutgoingMessage) -> None:
        raise NotConnected("web chat messages are pushed from the outbox")

    async def push_pending(self, key: ConversationKey) -> None:
        """Sends the conversation's waiting messages to its sockets on this worker."""
        if not self._sockets.get(key.chat_id):
            return
        await self._hand_over(key, await self._outbox.take(key))

    def routes(self) -> Sequence[web.RouteDef]:
        return [
            web.get("/", self._page),
            web.get("/widget.js", self._widget),
            web.get("/ws", self._socket),
        ]

    async def _page(self, request: web.Request) -> web.FileResponse:
        """The web chat page for customers."""
        return web.FileResponse(STATIC / "index.html")

    async def _widget(self, request: web.Request) -> web.FileResponse:
        """The embeddable chat: any site may load the script; ``/ws`` checks who may connect."""
        headers = {"Content-Type": "application/javascript", "Cache-Control": "no-cache"}
        return web.FileResponse(STATIC / "widget.js", headers=headers)

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        """The web chat's WebSocket: customer messages in, the bot's and agents' replies out.

        Generated answers arrive as streamed drafts first.
        """
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
            with contextlib.suppress(StorageError):
                await self.push_pending(_key(sender))
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
            body = {"sender": sender, "message": frame.get("text"), "message_id": frame.get("id")}
            incoming = rest_to_incoming(body, new_message_id(), self.platform)
        except InputError as error:
            await ws.send_json({"type": "error", "error": str(error)})
            return
        await ws.send_json({"type": "typing"})
        draft = AnswerDraft(ws, new_message_id())
        try:
            entries = await self._runner.handle(incoming, stream=draft.add)
        except ShuttingDown:
            await ws.send_json({"type": "error", "error": "the server is restarting"})
            return
        except StorageError:
            log.exception("web.storage_unavailable", conversation=incoming.key.as_str())
            apology = OutgoingMessage(sorry_text(incoming), custom={"answer_kind": "error"})
            await ws.send_json(reply_frame(sender, apology))
            return
        answer = next((e for e in entries if e.message.reply_to == incoming.message_id), None)
        first = (answer.id, draft.stream_id) if answer is not None and draft.shown else None
        await self._hand_over(incoming.key, entries, first)

    async def _hand_over(
        self,
        key: ConversationKey,
        entries: Sequence[OutboxEntry],
        replaces: tuple[int, str] | None = None,
    ) -> None:
        """Sends taken messages to every tab of the customer here; what no tab took goes back
        to the outbox for the next connection."""
        undelivered = []
        for entry in entries:
            frame = reply_frame(key.chat_id, entry.message)
            if replaces is not None and entry.id == replaces[0]:
                frame["replaces"] = replaces[1]  # the draft streamed while it was written
            if not await self._send_to_tabs(key.chat_id, frame):
                undelivered.append(entry.id)
        await self._outbox.give_back(undelivered)

    async def _send_to_tabs(self, sender: str, frame: dict[str, Any]) -> bool:
        sent = False
        for ws in list(self._sockets.get(sender, ())):
            if ws.closed:
                continue
            try:
                await ws.send_json(frame)
                sent = True
            except ConnectionResetError:  # the tab went away meanwhile
                continue
        return sent


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
