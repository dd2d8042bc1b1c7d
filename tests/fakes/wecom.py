"""A fake WeCom (企业微信) server: the gettoken and message/send APIs, and a callback sender.

The API side hands out access tokens, refuses expired (42001) and unknown (40014) ones like
WeCom does, and records every message/send body. :class:`CallbackSender` plays WeCom calling
our callback URL: it signs and encrypts with the app's Token and EncodingAESKey.
"""

from __future__ import annotations

import itertools
import time
import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from bot.adapters.wecom.crypto import WeComCrypto
from tests.fakes.server import LocalServer

CORP_ID = "ww1436e0e65a779aee"
AGENT_ID = 1000002
SECRET = "app-secret-for-tests"
TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"


class FakeWeCom:
    """The WeCom API: ``await start()`` returns the base URL to configure as api_base_url."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.token_requests = 0
        self.send_attempts = 0
        self.unreachable_users: set[str] = set()
        self.busy_answers = 0
        """How many of the next message/send calls answer errcode -1 (system busy)."""
        self._valid: set[str] = set()
        self._expired: set[str] = set()
        self._numbers = itertools.count(1)
        app = web.Application()
        app.router.add_get("/cgi-bin/gettoken", self._gettoken)
        app.router.add_post("/cgi-bin/message/send", self._message_send)
        self._server = LocalServer(app)

    @property
    def url(self) -> str:
        return self._server.url

    async def start(self) -> str:
        return await self._server.start()

    async def stop(self) -> None:
        await self._server.stop()

    def expire_tokens(self) -> None:
        """Make every token handed out so far expired (WeCom answers 42001)."""
        self._expired |= self._valid
        self._valid.clear()

    def texts_to(self, user_id: str) -> list[str]:
        return [m["text"]["content"] for m in self.sent if m["touser"] == user_id]

    async def _gettoken(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        if request.query.get("corpid") != CORP_ID or request.query.get("corpsecret") != SECRET:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        token = f"ACCESS_TOKEN_{next(self._numbers)}"
        self._valid.add(token)
        return web.json_response(
            {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}
        )

    async def _message_send(self, request: web.Request) -> web.Response:
        self.send_attempts += 1
        if self.busy_answers > 0:
            self.busy_answers -= 1
            return web.json_response({"errcode": -1, "errmsg": "system busy"})
        token = request.query.get("access_token", "")
        if token in self._expired:
            return web.json_response({"errcode": 42001, "errmsg": "access_token expired"})
        if token not in self._valid:
            return web.json_response({"errcode": 40014, "errmsg": "invalid access_token"})
        body = await request.json()
        content = body.get("text", {}).get("content", "")
        if len(content.encode("utf-8")) > 2048:
            return web.json_response({"errcode": 44004, "errmsg": "content size out of limit"})
        if body.get("agentid") != AGENT_ID:
            return web.json_response({"errcode": 40056, "errmsg": "invalid agentid"})
        if body.get("touser") in self.unreachable_users:
            return web.json_response(
                {"errcode": 0, "errmsg": "ok", "invaliduser": body["touser"], "msgid": "x"}
            )
        self.sent.append(body)
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": uuid.uuid4().hex})


@dataclass
class Signed:
    """Query parameters and body of one callback request."""

    query: dict[str, str]
    body: str = ""


class CallbackSender:
    """Plays WeCom calling the app's callback URL."""

    def __init__(
        self, url: str, *, token: str = TOKEN, aes_key: str = AES_KEY, corp_id: str = CORP_ID
    ) -> None:
        self.url = url
        self.crypto = WeComCrypto.create(token, aes_key, corp_id)
        self._session = aiohttp.ClientSession()
        self._nonces = itertools.count(1_000_000)

    async def close(self) -> None:
        await self._session.close()

    def sign(self, encrypted: str, *, timestamp: int | None = None) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        nonce = str(next(self._nonces))
        return {
            "msg_signature": self.crypto.signature(ts, nonce, encrypted),
            "timestamp": ts,
            "nonce": nonce,
        }

    def verification(self, echo: str = "6219418472983468523", **kw: Any) -> Signed:
        encrypted = self.crypto.encrypt(echo)
        return Signed({**self.sign(encrypted, **kw), "echostr": encrypted})

    def message(self, inner_xml: str, **kw: Any) -> Signed:
        encrypted = self.crypto.encrypt(inner_xml)
        body = (
            f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt>"
            f"<AgentID><![CDATA[{AGENT_ID}]]></AgentID></xml>"
        )
        return Signed(self.sign(encrypted, **kw), body)

    async def get(self, signed: Signed) -> tuple[int, str]:
        async with self._session.get(self.url, params=signed.query) as response:
            return response.status, await response.text()

    async def post(self, signed: Signed) -> tuple[int, str]:
        async with self._session.post(self.url, params=signed.query, data=signed.body) as response:
            return response.status, await response.text()


def text_xml(user: str, content: str, msg_id: int, create_time: int | None = None) -> str:
    """A decrypted text-message callback as WeCom sends it."""
    ts = int(time.time()) if create_time is None else create_time
    return (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId>"
        f"<AgentID>{AGENT_ID}</AgentID></xml>"
    )


def image_xml(user: str, msg_id: int) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[image]]></MsgType>"
        f"<PicUrl><![CDATA[https://wework.qpic.cn/x.jpg]]></PicUrl>"
        f"<MediaId><![CDATA[media_id]]></MediaId><MsgId>{msg_id}</MsgId>"
        f"<AgentID>{AGENT_ID}</AgentID></xml>"
    )


def event_xml(user: str, event: str = "enter_agent") -> str:
    return (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[]]></EventKey>"
        f"<AgentID>{AGENT_ID}</AgentID></xml>"
    )
