"""A fake Telegram Bot API server for python-telegram-bot.

Serves ``/bot<token>/<method>`` for getMe, getUpdates (long polling), sendMessage,
sendMessageDraft (private chats only), editMessageText, editMessageReplyMarkup,
answerCallbackQuery, setWebhook, deleteWebhook and getWebhookInfo. It validates what real
Telegram validates and our code could get wrong: HTML entities (unbalanced or unknown tags,
bare ``<``/``>``/``&``), the 4096-character limit counted after entity parsing, and
callback_data of at most 64 bytes. Every call is recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.server import LocalServer

TOKEN = "123456:TEST-token"
BOT_ID = 7000001
BOT_USERNAME = "kefu_test_bot"
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)(\s[^<>]*)?>")
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
_HTML_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
    }
)


@dataclass
class ApiCall:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    status: int = 0
    """The HTTP status the fake answered (400 for what real Telegram would refuse)."""


class EntityError(ValueError):
    """Telegram's "can't parse entities"."""


def visible_text(markup: str) -> str:
    """The text a user sees for HTML ``markup``, or :class:`EntityError` like Telegram."""
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    while pos < len(markup):
        char = markup[pos]
        if char == "<":
            match = _TAG.match(markup, pos)
            if match is None:
                raise EntityError(f"Unexpected character '<' at byte offset {pos}")
            closing, name = match.group(1) == "/", match.group(2).lower()
            if name not in _HTML_TAGS:
                raise EntityError(f'Unsupported start tag "{name}" at byte offset {pos}')
            if closing:
                if not stack or stack[-1] != name:
                    raise EntityError(f'Unmatched end tag at byte offset {pos}, expected "{name}"')
                stack.pop()
            else:
                stack.append(name)
            pos = match.end()
        elif char == "&":
            match = _ENTITY.match(markup, pos)
            if match is None:
                raise EntityError(f"Unsupported HTML entity at byte offset {pos}")
            out.append(html.unescape(match.group()))
            pos = match.end()
        elif char == ">":
            raise EntityError(f"Unexpected character '>' at byte offset {pos}")
        else:
            out.append(char)
            pos += 1
    if stack:
        raise EntityError(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class FakeTelegram:
    """The fake server; ``await start()`` returns the ``base_url`` for the SDK."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.calls: list[ApiCall] = []
        self.webhook: dict[str, Any] = {}
        self.blocked_chats: set[int] = set()
        self.refuse_markup = False
        """Refuse every parse_mode message, like a Bot API server with stricter parsing."""
        self.refuse_drafts = False
        """Refuse sendMessageDraft, like a Bot API server older than 9.3."""
        self.on_send: Callable[[ApiCall], None] | None = None
        self.send_failures: list[tuple[int, str]] = []
        """(status, description) answered to the next sendMessage calls, one each, first
        first: a Bot API hiccup (500, 502, 429 ...)."""
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._new_update = asyncio.Condition()
        self._changed = asyncio.Event()
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._dispatch)
        app.router.add_get("/bot{token}/{method}", self._dispatch)
        self._server = LocalServer(app)
        self._session: aiohttp.ClientSession | None = None

    @property
    def base_url(self) -> str:
        return f"{self._server.url}/bot"

    async def start(self) -> str:
        await self._server.start()
        self._session = aiohttp.ClientSession()
        return self.base_url

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        await self._server.stop()

    # --- what tests read ---------------------------------------------------------------

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        """Parameters of every call to ``method``, refused ones included."""
        return [call.params for call in self.calls if call.method == method]

    def refused(self) -> list[ApiCall]:
        """Calls the fake refused as real Telegram would (bad markup, too long...)."""
        return [call for call in self.calls if call.status >= 400]

    def sent_texts(self, chat_id: int | None = None) -> list[str]:
        return [
            params["text"]
            for params in self.calls_to("sendMessage")
            if chat_id is None or int(params["chat_id"]) == chat_id
        ]

    async def wait_for(
        self, method: str, count: int = 1, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """Wait until ``method`` was called ``count`` times; return those calls."""
        deadline = time.monotonic() + timeout
        while len(self.calls_to(method)) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"{method} called {len(self.calls_to(method))}x, wanted {count}"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return self.calls_to(method)

    # --- what tests do -----------------------------------------------------------------

    def next_update_id(self) -> int:
        return next(self._update_ids)

    async def queue_update(self, update: dict[str, Any]) -> None:
        """Make ``update`` available to getUpdates (polling mode)."""
        async with self._new_update:
            self._updates.append(update)
            self._new_update.notify_all()

    async def post_webhook(self, url: str, update: dict[str, Any], secret: str | None) -> int:
        """Deliver ``update`` to a webhook like Telegram does; returns the HTTP status."""
        assert self._session is not None
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        async with self._session.post(url, json=update, headers=headers) as response:
            return response.status

    # --- the API -----------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params = await _params(request)
        call = ApiCall(method, params)
        self.calls.append(call)
        self._changed.set()
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        response: web.Response = await handler(params)
        call.status = response.status
        if method == "sendMessage" and response.status == 200 and self.on_send is not None:
            self.on_send(call)
        return response

    async def _api_getMe(self, params: dict[str, Any]) -> web.Response:
        return _ok(bot_user())

    async def _api_getUpdates(self, params: dict[str, Any]) -> web.Response:
        offset = int(params.get("offset", 0) or 0)
        timeout = min(float(params.get("timeout", 0) or 0), 2.0)
        async with self._new_update:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            if not self._updates and timeout > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._new_update.wait(), timeout)
            return _ok(list(self._updates))

    async def _api_sendMessage(self, params: dict[str, Any]) -> web.Response:
        if self.send_failures:
            status, description = self.send_failures.pop(0)
            return _error(status, description, retry_after=1 if status == 429 else None)
        chat_id = int(params["chat_id"])
        if chat_id in self.blocked_chats:
            return _error(403, "Forbidden: bot was blocked by the user")
        text = str(params.get("text", ""))
        if params.get("parse_mode") and self.refuse_markup:
            return _error(400, "Bad Request: can't parse entities: unsupported")
        if params.get("parse_mode") == "HTML":
            try:
                text = visible_text(text)
            except EntityError as e:
                return _error(400, f"Bad Request: can't parse entities: {e}")
        if not text.strip():
            return _error(400, "Bad Request: message text is empty")
        if _utf16_len(text) > 4096:
            return _error(400, "Bad Request: message is too long")
        keyboard = params.get("reply_markup") or {}
        for row in keyboard.get("inline_keyboard", []):
            for button in row:
                if len(str(button.get("callback_data", "")).encode()) > 64:
                    return _error(400, "Bad Request: BUTTON_DATA_INVALID")
        return _ok(self._message(chat_id, text))

    async def _api_sendMessageDraft(self, params: dict[str, Any]) -> web.Response:
        if self.refuse_drafts:
            return _error(400, "Bad Request: method is not available")
        if int(params["chat_id"]) <= 0:
            return _error(400, "Bad Request: drafts can be sent to private chats only")
        if int(params.get("draft_id", 0)) == 0:
            return _error(400, "Bad Request: draft_id must be non-zero")
        if _utf16_len(str(params.get("text", ""))) > 4096:
            return _error(400, "Bad Request: message is too long")
        return _ok(True)

    async def _api_editMessageText(self, params: dict[str, Any]) -> web.Response:
        return _ok(self._message(int(params["chat_id"]), str(params["text"])))

    async def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> web.Response:
        return _ok(self._message(int(params["chat_id"]), "(edited)"))

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> web.Response:
        return _ok(True)

    async def _api_setWebhook(self, params: dict[str, Any]) -> web.Response:
        self.webhook = dict(params)
        return _ok(True)

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> web.Response:
        self.webhook = {}
        return _ok(True)

    async def _api_getWebhookInfo(self, params: dict[str, Any]) -> web.Response:
        return _ok(
            {
                "url": self.webhook.get("url", ""),
                "has_custom_certificate": False,
                "pending_update_count": 0,
            }
        )

    def _message(self, chat_id: int, text: str) -> dict[str, Any]:
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
            "from": bot_user(),
            "text": text,
        }


def bot_user() -> dict[str, Any]:
    return {
        "id": BOT_ID,
        "is_bot": True,
        "first_name": "Kefu",
        "username": BOT_USERNAME,
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
    }


def message_update(
    update_id: int,
    *,
    chat_id: int,
    user_id: int,
    text: str | None = None,
    message_id: int = 1,
    chat_type: str = "private",
    first_name: str = "Ann",
    entities: list[dict[str, Any]] | None = None,
    reply_to_bot: bool = False,
    photo: bool = False,
    caption: str | None = None,
) -> dict[str, Any]:
    """A ``message`` update as Telegram sends it."""
    chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
    if chat_type == "private":
        chat["first_name"] = first_name
    else:
        chat["title"] = "Support group"
    message: dict[str, Any] = {
        "message_id": message_id,
        "from": {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "en"},
        "chat": chat,
        "date": int(time.time()),
    }
    if text is not None:
        message["text"] = text
    if entities:
        message["entities"] = entities
    if reply_to_bot:
        message["reply_to_message"] = {
            "message_id": message_id - 1,
            "from": bot_user(),
            "chat": chat,
            "date": int(time.time()) - 5,
            "text": "Earlier answer",
        }
    if photo:
        message["photo"] = [
            {
                "file_id": "AgAC-small",
                "file_unique_id": "s1",
                "width": 90,
                "height": 90,
                "file_size": 1200,
            },
            {
                "file_id": "AgAC-large",
                "file_unique_id": "l1",
                "width": 800,
                "height": 800,
                "file_size": 80000,
            },
        ]
        if caption is not None:
            message["caption"] = caption
    return {"update_id": update_id, "message": message}


def callback_update(
    update_id: int, *, chat_id: int, user_id: int, data: str, message_id: int = 1000
) -> dict[str, Any]:
    """A ``callback_query`` update for a button under one of the bot's messages."""
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cbq-{update_id}",
            "from": {"id": user_id, "is_bot": False, "first_name": "Ann"},
            "chat_instance": "-7134",
            "data": data,
            "message": {
                "message_id": message_id,
                "from": bot_user(),
                "chat": {"id": chat_id, "type": "private", "first_name": "Ann"},
                "date": int(time.time()) - 3,
                "text": "Pick one",
            },
        },
    }


async def _params(request: web.Request) -> dict[str, Any]:
    """Bot API parameters from a query string, a form or JSON (PTB sends forms whose
    non-string values are JSON-encoded)."""
    params: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        params.update(await request.json())
    elif request.can_read_body:
        form = await request.post()
        for key, value in form.items():
            params[key] = _maybe_json(str(value))
    return params


def _maybe_json(value: str) -> Any:
    if value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(status: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=status)
