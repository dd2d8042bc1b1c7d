"""What the system tests use to play customers, agents and admins against real workers, and
to read what was recorded."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

import aiohttp

from core.events import EventKind
from core.storage import ConversationStore, Database
from core.types import ConversationKey
from tests.fakes.telegram import FakeTelegram
from tests.system.cluster import AUTH, ROOT, Worker


async def transcript(database_url: str, key: ConversationKey) -> list[tuple[str, str]]:
    """``(kind, text)`` of the customer's, the bot's and agents' messages, oldest first."""
    database = Database(database_url)
    try:
        kinds = [EventKind.USER_MESSAGE, EventKind.BOT_REPLY, EventKind.AGENT_MESSAGE]
        events = await ConversationStore(database).events(key, kinds=kinds)
    finally:
        await database.dispose()
    return [(str(event.kind), event.text or "") for event in events]


def rest_key(sender: str) -> ConversationKey:
    return ConversationKey("rest", sender, sender)


def add_agent(env: dict[str, str], name: str, password: str) -> None:
    """``kefu agents add NAME --password ...`` against the deployment's database."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    full.update(env)
    subprocess.run(
        [sys.executable, "-m", "bot", "agents", "add", name, "--password", password],
        cwd=ROOT,
        env=full,
        check=True,
        capture_output=True,
        timeout=120,
    )


class AgentBrowser:
    """One agent's browser on one worker: its own cookies, the workspace API and live socket."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.http = aiohttp.ClientSession(
            base_url=worker.url,
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            timeout=aiohttp.ClientTimeout(total=20),
        )
        self.csrf = ""
        self.frames: list[dict[str, Any]] = []
        self._socket: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None

    async def login(self, name: str, password: str) -> None:
        page = await self.http.get("/agent/login")
        token = re.search(r'name="csrf" value="([^"]+)"', await page.text())
        assert token is not None, "no CSRF token on the login page"
        response = await self.http.post(
            "/agent/login",
            data={"name": name, "password": password, "csrf": token.group(1)},
            allow_redirects=False,
        )
        assert response.status == 303, f"login refused: {response.status}"
        me = await self.http.get("/agent/api/me")
        self.csrf = (await me.json())["csrf"]

    async def open_workspace(self) -> None:
        """Opens the live socket; every frame it receives is kept in :attr:`frames`."""
        self._socket = await self.http.ws_connect(f"/agent/ws?csrf={self.csrf}")
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self._socket is not None
        async for message in self._socket:
            if message.type is aiohttp.WSMsgType.TEXT:
                self.frames.append(json.loads(message.data))

    async def queue(self) -> dict[str, Any]:
        response = await self.http.get("/agent/api/queue")
        assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
        return body

    async def post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.http.post(
            f"/agent/api{path}", json=body or {}, headers={"X-CSRF-Token": self.csrf}
        )
        assert response.status == 200, f"{path}: {response.status} {await response.text()}"
        result: dict[str, Any] = await response.json()
        return result

    def customer_lines(self) -> list[str]:
        """Customer messages pushed live to this agent."""
        return [
            str(frame["line"]["text"])
            for frame in self.frames
            if frame.get("type") == "message" and frame["line"].get("role") == "customer"
        ]

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        await self.http.close()


class WebCustomer:
    """A customer in the web chat (``/ws``) on one worker."""

    def __init__(self, http: aiohttp.ClientSession, worker: Worker, sender: str) -> None:
        self._http = http
        self.worker = worker
        self.sender = sender
        self.frames: list[dict[str, Any]] = []
        self._socket: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        self._socket = await self._http.ws_connect(
            f"{self.worker.url}/ws?sender={self.sender}", headers=AUTH
        )
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self._socket is not None
        async for message in self._socket:
            if message.type is aiohttp.WSMsgType.TEXT:
                self.frames.append(json.loads(message.data))

    async def send(self, text: str) -> None:
        assert self._socket is not None
        await self._socket.send_json({"type": "message", "text": text})

    def replies(self) -> list[str]:
        return [str(f.get("text", "")) for f in self.frames if f.get("type") == "reply"]

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)


def delivered(telegram: FakeTelegram, chat_id: int | None = None) -> list[str]:
    """Texts of the sendMessage calls the fake Bot API accepted (what users actually got)."""
    return [
        str(call.params["text"])
        for call in telegram.calls
        if call.method == "sendMessage"
        and call.status == 200
        and (chat_id is None or int(call.params["chat_id"]) == chat_id)
    ]


def answer_kinds(messages: Sequence[dict[str, Any]]) -> list[str]:
    return [str(m.get("custom", {}).get("answer_kind")) for m in messages]
