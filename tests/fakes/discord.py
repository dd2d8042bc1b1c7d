"""A fake Discord: the REST endpoints discord.py calls for Kefu and a gateway websocket.

REST (under ``/api/v10``): the bot user and application info (login), bulk command overwrite
(``tree.sync``), channel messages, interaction callbacks and interaction follow-ups. The
gateway says HELLO, answers IDENTIFY with READY and heartbeats with ACKs, and lets a test
dispatch recorded events (MESSAGE_CREATE, INTERACTION_CREATE) to the connected client. Message
content over 2000 characters is refused with Discord's error 50035. Every call is recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.server import LocalServer

TOKEN = "MTEwMDAwMDAwMDAwMDAwMDAwMQ.fake.token"
BOT_ID = "1100000000000000001"
APPLICATION_ID = BOT_ID
BOT_USER: dict[str, Any] = {
    "id": BOT_ID,
    "username": "kefu",
    "global_name": "Kefu",
    "discriminator": "0",
    "avatar": None,
    "bot": True,
    "flags": 0,
    "public_flags": 0,
}


@dataclass
class RestCall:
    method: str
    path: str
    body: Any
    """The JSON body: an object, or a list for bulk command overwrites."""
    query: dict[str, str]
    status: int = 0
    at: float = field(default_factory=time.monotonic)


class FakeDiscord:
    """``await start()``; then configure ``api_base_url`` and ``gateway_url`` from it."""

    def __init__(self) -> None:
        self.calls: list[RestCall] = []
        self.identify: dict[str, Any] | None = None
        self.forbidden_channels: set[str] = set()
        self.ready = asyncio.Event()
        self._sockets: list[web.WebSocketResponse] = []
        self._seq = itertools.count(1)
        self._ids = itertools.count(1500000000000000001)
        self._changed = asyncio.Event()
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{path:.*}", self._rest)
        self._server = LocalServer(app)

    @property
    def api_base_url(self) -> str:
        return f"{self._server.url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return self._server.url.replace("http://", "ws://") + "/gateway"

    async def start(self) -> None:
        await self._server.start()

    async def stop(self) -> None:
        for socket in self._sockets:
            await socket.close()
        await self._server.stop()

    # --- what tests read ---------------------------------------------------------------

    def calls_to(self, method: str, path_start: str) -> list[RestCall]:
        return [c for c in self.calls if c.method == method and c.path.startswith(path_start)]

    def channel_messages(self, channel_id: str) -> list[dict[str, Any]]:
        return [
            c.body
            for c in self.calls_to("POST", f"/channels/{channel_id}/messages")
            if c.status == 200
        ]

    async def wait_for(
        self, method: str, path_start: str, count: int = 1, timeout: float = 5.0
    ) -> list[RestCall]:
        deadline = time.monotonic() + timeout
        while len(self.calls_to(method, path_start)) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                found = len(self.calls_to(method, path_start))
                raise AssertionError(f"{method} {path_start}: {found} calls, wanted {count}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return self.calls_to(method, path_start)

    # --- what tests do -----------------------------------------------------------------

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a gateway DISPATCH (op 0) to every connected client."""
        await asyncio.wait_for(self.ready.wait(), 5)
        frame = {"op": 0, "t": event, "s": next(self._seq), "d": data}
        for socket in self._sockets:
            await socket.send_str(json.dumps(frame))

    # --- gateway -----------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._sockets.append(socket)
        await socket.send_json({"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None})
        async for frame in socket:
            if frame.type is not WSMsgType.TEXT:
                break
            payload = json.loads(frame.data)
            if payload["op"] == 1:
                await socket.send_json({"op": 11, "d": None, "s": None, "t": None})
            elif payload["op"] == 2:
                self.identify = payload["d"]
                await socket.send_json(
                    {"op": 0, "t": "READY", "s": next(self._seq), "d": self._ready()}
                )
                self.ready.set()
        self._sockets.remove(socket)
        return socket

    def _ready(self) -> dict[str, Any]:
        return {
            "v": 10,
            "user": BOT_USER,
            "guilds": [],
            "session_id": "fake-session",
            "resume_gateway_url": self.gateway_url,
            "shard": [0, 1],
            "application": {"id": APPLICATION_ID, "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "geo_ordered_rtc_regions": [],
        }

    # --- REST --------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["path"]
        body: Any = {}
        if request.can_read_body:
            raw = await request.read()
            if request.content_type == "application/json" and raw:
                body = json.loads(raw)
            elif raw:
                form = await request.post()
                body = json.loads(str(form.get("payload_json", "{}")))
        call = RestCall(request.method, path, body, dict(request.query))
        self.calls.append(call)
        response = self._answer(call)
        call.status = response.status
        self._changed.set()
        return response

    def _answer(self, call: RestCall) -> web.Response:
        parts = call.path.strip("/").split("/")
        if call.method == "GET" and call.path == "/users/@me":
            return _json(BOT_USER)
        if call.method == "GET" and call.path == "/oauth2/applications/@me":
            return _json(_application())
        if call.method == "PUT" and parts[0] == "applications" and parts[-1] == "commands":
            return _json(
                [
                    {
                        **cmd,
                        "id": str(next(self._ids)),
                        "application_id": APPLICATION_ID,
                        "version": "1",
                    }
                    for cmd in call.body
                ]
            )
        if call.method == "POST" and parts[0] == "channels" and parts[-1] == "messages":
            if parts[1] in self.forbidden_channels:
                return _error(403, 50001, "Missing Access")
            return self._message_response(parts[1], call.body)
        if call.method == "POST" and parts[0] == "interactions":
            return _json({"interaction": {"id": parts[1], "type": 2}, "resource": None})
        if parts[0] == "webhooks":
            return self._message_response("0", call.body)
        return _error(404, 0, f"404: Not Found ({call.method} {call.path})")

    def _message_response(self, channel_id: str, body: dict[str, Any]) -> web.Response:
        content = str(body.get("content") or "")
        if len(content) > 2000:
            return _error(
                400,
                50035,
                "Invalid Form Body",
                {
                    "content": {
                        "_errors": [
                            {
                                "code": "BASE_TYPE_MAX_LENGTH",
                                "message": "Must be 2000 or fewer in length.",
                            }
                        ]
                    }
                },
            )
        return _json(
            message(
                channel_id,
                content,
                author=BOT_USER,
                message_id=str(next(self._ids)),
                components=body.get("components", []),
            )
        )


def message(
    channel_id: str,
    content: str,
    *,
    author: dict[str, Any],
    message_id: str,
    guild_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A full Discord message object."""
    data: dict[str, Any] = {
        "id": message_id,
        "channel_id": channel_id,
        "author": author,
        "content": content,
        "timestamp": datetime.now(UTC).isoformat(),
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": False,
        "type": 0,
        "flags": 0,
        "components": [],
    }
    if guild_id is not None:
        data["guild_id"] = guild_id
    data.update(extra)
    return data


def _application() -> dict[str, Any]:
    return {
        "id": APPLICATION_ID,
        "name": "Kefu",
        "icon": None,
        "description": "Customer service",
        "summary": "",
        "type": None,
        "hook": True,
        "bot_public": False,
        "bot_require_code_grant": False,
        "verify_key": "0" * 64,
        "owner": {**BOT_USER, "id": "1400000000000000099", "username": "owner", "bot": False},
        "flags": 0,
        "team": None,
        "rpc_origins": [],
    }


def _json(data: Any, status: int = 200) -> web.Response:
    # discord.py parses a body as JSON only for exactly "application/json", as Discord sends.
    return web.Response(
        body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"}
    )


def _error(
    status: int, code: int, message_text: str, errors: dict[str, Any] | None = None
) -> web.Response:
    body: dict[str, Any] = {"code": code, "message": message_text}
    if errors:
        body["errors"] = errors
    return _json(body, status=status)
