"""``kefu chat``: the same bot in the terminal, as the local user (an admin by default)."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Sequence
from typing import TextIO

from aiohttp import web

from bot.adapters.base import MessageHandler
from bot.adapters.console.convert import choose_button, render
from core.types import ConversationKey, IncomingMessage, OutgoingMessage

QUIT = frozenset({"/quit", "/exit", "exit", "quit"})


class ConsoleChannel:
    platform = "console"
    delivery = "push"  # replies print as they come; later messages through send()

    def __init__(
        self,
        handler: MessageHandler,
        user: str = "local",
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
    ) -> None:
        self._handler = handler
        self._key = ConversationKey(self.platform, user, user)
        self._in = stdin or sys.stdin
        self._out = stdout or sys.stdout
        self._last: OutgoingMessage | None = None
        self._in_turn = False
        self._later: list[OutgoingMessage] = []

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def routes(self) -> Sequence[web.RouteDef]:
        return []

    async def send(self, key: ConversationKey, message: OutgoingMessage) -> None:
        """Prints a message sent later (a reload's result, an agent's reply); one that arrives
        while a turn is being answered waits until the turn's own replies are printed."""
        if self._in_turn:
            self._later.append(message)
        else:
            self._print(message)

    def _print(self, message: OutgoingMessage) -> None:
        self._last = message if message.buttons else self._last
        print(render(message), file=self._out, flush=True)

    async def run(self) -> None:
        """Reads questions until end of input or ``/quit``."""
        print("Kefu 客服 — 输入问题开始对话，/quit 退出 (type /quit to leave)", file=self._out)
        while True:
            print("你> ", end="", file=self._out, flush=True)
            line = await asyncio.to_thread(self._in.readline)
            if not line:
                break
            text = line.strip()
            if text in QUIT:
                break
            if not text:
                continue
            text = choose_button(text, self._last)
            message = IncomingMessage(uuid.uuid4().hex, self._key, text, sender_name="local")
            self._in_turn = True
            try:
                replies = await self._handler(message)
            finally:
                self._in_turn = False
            for reply in [*replies, *self._later]:
                self._print(reply)
            self._later.clear()
