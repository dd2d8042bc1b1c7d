"""Hostile input on every route of the real server: never a 5xx, never a broken socket, never
unstorable text in the log, and the bot still answers afterwards.

The requests are generated: each route's fields crossed with hostile values (lone surrogates,
NULs, 5,000-digit numbers, 30-digit ids, 5,000-deep JSON, non-ASCII tokens and cookies), plus
broken bodies (invalid UTF-8, broken multipart, truncated JSON) for every route that reads one.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from sqlalchemy import select

from bot.app import Kefu
from core.config.channels import TelegramSettings, WeComSettings
from core.config.feedback import FeedbackSettings
from core.config.web import WebSettings
from core.events import EventKind
from core.settings import KefuSettings, KnowledgeSettings
from core.storage.models import Event
from core.types import ConversationKey
from core.untrusted import storable
from knowledge.base import KnowledgeBase
from tests.bot.conftest import BACKEND, REST_TOKEN
from tests.fakes import telegram as fake_telegram
from tests.fakes import wecom as fake_wecom

Client = TestClient[Any, Any]
KNOWLEDGE = KnowledgeSettings(embedder="hashing")
PASSWORD = "correct horse battery"
ADMIN_TOKEN = "admin-token-for-tests"
TELEGRAM_SECRET = "tg-webhook-secret"
IDENTITY_SECRET = "host-identity-secret"
CAROL = ConversationKey("rest", "carol", "carol")

DEEP = "[" * 5000 + "]" * 5000
JSON_VALUES: dict[str, str] = {
    "lone high surrogate": '"a\\ud800b"',
    "lone low surrogate": '"\\udfff"',
    "NUL": '"a\\u0000b"',
    "5000-digit number": "1" * 5000,
    "30-digit id": "9" * 30,
    "huge exponent": "1e999999",
    "negative": "-1",
    "null": "null",
    "object": '{"a": 1}',
    "deep array": DEEP,
    "long string": json.dumps("長" * 20_000),
    "bidi and zero-width": '"\\u202e\\u200b\\ufeff"',
}
HOSTILE_HEADERS: dict[str, str] = {
    "non-ASCII": "tökén✓",
    "CJK": "令牌",
    "overlong": "x" * 4000,
    "dots": "kc1....",
    "empty": "",
}
BROKEN_BODIES: dict[str, tuple[bytes, str]] = {
    "invalid UTF-8": (b"\xff\xfe\xfa", "application/json"),
    "truncated JSON": (b'{"sender": "a", "mess', "application/json"),
    "JSON array": (b"[1, 2, 3]", "application/json"),
    "deep JSON": (DEEP.encode(), "application/json"),
    "BOM": (b'\xef\xbb\xbf{"message": "hi"}', "application/json"),
    "broken multipart": (
        b'--XyZ\r\nContent-Disposition: form-data; name="name"\r\n\r\nalice\r\n--Xy',
        "multipart/form-data; boundary=XyZ",
    ),
    "multipart without boundary": (b"garbage", "multipart/form-data"),
    "form with invalid UTF-8": (
        b"name=%ff%fe&password=\xff\xfe",
        "application/x-www-form-urlencoded",
    ),
    "empty": (b"", "application/json"),
}
HUGE_IDS = ["9" * 30, "1" * 5000, "-1", "0", "١٢٣", "1e9", "%00", "abc"]


@dataclass
class Case:
    name: str
    method: str
    path: str
    kwargs: dict[str, Any] = field(default_factory=dict)


def rest_cases() -> Iterator[Case]:
    for field_name in ("sender", "message", "message_id", "user_id", "user_hash", "token"):
        for value_name, value in JSON_VALUES.items():
            body = f'{{"sender": "eve", "message": "hi", "{field_name}": {value}}}'
            auth = BACKEND if field_name in ("sender", "message", "message_id") else {}
            yield Case(
                f"REST {field_name}={value_name}",
                "POST",
                "/webhooks/rest/webhook",
                {"data": body.encode("utf-8", "surrogatepass"), "headers": auth},
            )
    for body_name, (body, kind) in BROKEN_BODIES.items():
        yield Case(
            f"REST body {body_name}",
            "POST",
            "/webhooks/rest/webhook",
            {"data": body, "headers": {"Content-Type": kind, **BACKEND}},
        )
    for header_name, value in HOSTILE_HEADERS.items():
        for path in ("/webhooks/rest/webhook", "/webhooks/rest/messages"):
            method = "POST" if path.endswith("webhook") else "GET"
            for header in ("Authorization", "X-Kefu-Token", "Cookie", "Origin"):
                text = {"Authorization": f"Bearer {value}", "Cookie": f"kefu_visitor={value}"}
                yield Case(
                    f"REST {method} {header} {header_name}",
                    method,
                    path,
                    {"json": {"message": "hi"}, "headers": {header: text.get(header, value)}},
                )
    for value in ("%ED%A0%80", "%00", "9" * 300):
        yield Case(
            f"REST pending query {value[:9]}", "GET", f"/webhooks/rest/messages?token={value}"
        )


def agent_cases(csrf: str) -> Iterator[Case]:
    for body_name, (body, kind) in BROKEN_BODIES.items():
        yield Case(
            f"agent login {body_name}",
            "POST",
            "/agent/login",
            {"data": body, "headers": {"Content-Type": kind}},
        )
    for value_name, value in HOSTILE_HEADERS.items():
        yield Case(
            f"agent login csrf cookie {value_name}",
            "POST",
            "/agent/login",
            {
                "data": {"name": "alice", "password": "x", "csrf": value},
                "headers": {"Cookie": f"kefu_login_csrf={value}"},
            },
        )
        yield Case(
            f"agent session cookie {value_name}",
            "GET",
            "/agent/api/queue",
            {"headers": {"Cookie": f"kefu_agent={value}"}},
        )
        yield Case(
            f"agent CSRF header {value_name}",
            "POST",
            "/agent/api/handoffs/1/claim",
            {"headers": {"X-CSRF-Token": value}, "signed_in": True},
        )
    for name in ("\ud800", "a\x00b", "長" * 5000):
        yield Case(
            f"agent login name {name[:3]!a}",
            "POST",
            "/agent/login",
            {"form_name": name},
        )
    for handoff_id in HUGE_IDS:
        for action in ("", "/claim", "/messages", "/notes", "/close", "/release"):
            method = "GET" if not action else "POST"
            yield Case(
                f"agent handoff id {handoff_id[:6]} {action}",
                method,
                f"/agent/api/handoffs/{handoff_id}{action}",
                {"json": {"text": "x"}, "headers": {"X-CSRF-Token": csrf}, "signed_in": True},
            )
    for value_name, value in JSON_VALUES.items():
        for action in ("messages", "notes", "close"):
            body = f'{{"text": {value}, "resolution": {value}}}'
            yield Case(
                f"agent {action} text={value_name}",
                "POST",
                f"/agent/api/handoffs/{{waiting}}/{action}",
                {
                    "data": body.encode("utf-8", "surrogatepass"),
                    "headers": {"X-CSRF-Token": csrf, "Content-Type": "application/json"},
                    "signed_in": True,
                },
            )
    for name in ("..%2fagent.html", "%00", "agent.js%00.css", "ü.js"):
        yield Case(f"agent static {name}", "GET", f"/agent/static/{name}")


def admin_cases() -> Iterator[Case]:
    for value_name, value in HOSTILE_HEADERS.items():
        yield Case(
            f"admin bearer {value_name}",
            "GET",
            "/admin/review",
            {"headers": {"Authorization": f"Bearer {value}"}},
        )
        yield Case(
            f"admin cookie {value_name}",
            "GET",
            "/admin/dashboard",
            {"headers": {"Cookie": f"kefu_admin={value}"}},
        )
        yield Case(
            f"admin token query {value_name}", "GET", "/admin/review", {"params": {"token": value}}
        )
    for since in ("9" * 5000, "2024-13-45", "%ED%A0%80", "%00", "-1"):
        yield Case(
            f"admin since {since[:6]}",
            "GET",
            f"/admin/dashboard?since={since}&format=json",
            {"headers": {"Authorization": f"Bearer {ADMIN_TOKEN}"}},
        )
    for candidate in ("9" * 30, "1" * 5000, "0"):
        for action in ("approve", "reject"):
            for body_name, (body, kind) in BROKEN_BODIES.items():
                yield Case(
                    f"admin {action} {candidate[:5]} {body_name}",
                    "POST",
                    f"/admin/review/{candidate}/{action}",
                    {"data": body, "headers": {"Content-Type": kind, "Cookie": "kefu_admin=x"}},
                )
    yield Case(
        "admin logout broken form",
        "POST",
        "/admin/logout",
        {"data": b"\xff", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
    )


def telegram_cases() -> Iterator[Case]:
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    for body_name, (body, kind) in BROKEN_BODIES.items():
        yield Case(
            f"telegram body {body_name}",
            "POST",
            "/webhooks/telegram",
            {"data": body, "headers": {**headers, "Content-Type": kind}},
        )
    for value_name, value in HOSTILE_HEADERS.items():
        yield Case(
            f"telegram secret {value_name}",
            "POST",
            "/webhooks/telegram",
            {"json": {}, "headers": {"X-Telegram-Bot-Api-Secret-Token": value}},
        )
    for update_id, (value_name, value) in enumerate(JSON_VALUES.items(), start=500):
        for field_name in ("text", "chat_id", "date", "update_id"):
            message = {
                "text": '"hi"',
                "chat_id": "42",
                "date": "1700000000",
                "update_id": str(update_id),
            }
            message[field_name] = value
            body = (
                f'{{"update_id": {message["update_id"]}, "message": {{"message_id": 1, '
                f'"date": {message["date"]}, "text": {message["text"]}, '
                f'"chat": {{"id": {message["chat_id"]}, "type": "private"}}, '
                f'"from": {{"id": 42, "is_bot": false, "first_name": "Eve"}}}}}}'
            )
            yield Case(
                f"telegram {field_name}={value_name}",
                "POST",
                "/webhooks/telegram",
                {"data": body.encode("utf-8", "surrogatepass"), "headers": headers},
            )


def wecom_cases(sender: fake_wecom.CallbackSender, path: str) -> Iterator[Case]:
    for number, query in enumerate(
        (
            {},
            {"msg_signature": "ü", "timestamp": "1", "nonce": "1", "echostr": "x"},
            {"msg_signature": "0" * 40, "timestamp": "9" * 5000, "nonce": "\x00", "echostr": "%"},
        )
    ):
        yield Case(f"wecom verify query {number}", "GET", path, {"params": query})
        yield Case(f"wecom post query {number}", "POST", path, {"params": query, "data": b"<xml/>"})
    for body_name, (body, _) in BROKEN_BODIES.items():
        signed = sender.message("<xml></xml>")
        yield Case(f"wecom body {body_name}", "POST", path, {"params": signed.query, "data": body})
    for inner_name, inner in {
        "not XML": "garbage <<",
        "NUL in XML": "<xml><Content>a\x00b</Content></xml>",
        "entity bomb": '<!DOCTYPE x [<!ENTITY a "aaaa">]><xml>&a;</xml>',
        "surrogate character reference": "<xml><MsgType>text</MsgType><Content>a&#xD800;b"
        "</Content></xml>",
        "huge MsgId": fake_wecom.text_xml("eve", "hi", int("9" * 30)),
    }.items():
        signed = sender.message(inner)
        yield Case(
            f"wecom inner {inner_name}", "POST", path, {"params": signed.query, "data": signed.body}
        )


WS_FRAMES: dict[str, str | bytes] = {
    "not JSON": "{oops",
    "array": "[]",
    "string": '"hello"',
    "deep": DEEP,
    "5000-digit text": '{"type": "message", "text": ' + "1" * 5000 + "}",
    "lone surrogate": '{"type": "message", "text": "a\\ud800b"}',
    "NUL": '{"type": "message", "text": "a\\u0000b"}',
    "text not a string": '{"type": "message", "text": 12}',
    "null text": '{"type": "message", "text": null}',
    "unknown type": '{"type": "subscribe"}',
    "binary": b"\xff\x00\xfe",
    "huge exponent": '{"type": "message", "text": "x", "n": 1e999999}',
}


@pytest.fixture(scope="session")
def hashing_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("hostile-index")
    KnowledgeBase.open(KNOWLEDGE, data_dir).reload()
    return data_dir


@dataclass
class Hostile:
    kefu: Kefu
    client: Client
    agent: aiohttp.ClientSession
    csrf: str
    waiting: int
    wecom: fake_wecom.CallbackSender


@pytest.fixture
async def hostile(tmp_path: Path, hashing_index: Path) -> AsyncIterator[Hostile]:
    telegram = fake_telegram.FakeTelegram()
    await telegram.start()
    wecom_api = fake_wecom.FakeWeCom()
    wecom_base = await wecom_api.start()
    data_dir = tmp_path / "data"
    shutil.copytree(hashing_index, data_dir)
    settings = KefuSettings(
        data_dir=data_dir,
        knowledge=KNOWLEDGE,
        admins={"rest": ["boss"]},
        web=WebSettings(api_token=REST_TOKEN, identity_secret=IDENTITY_SECRET),
        feedback=FeedbackSettings(admin_token=SecretStr(ADMIN_TOKEN)),
        telegram=TelegramSettings(
            enabled=True,
            token=fake_telegram.TOKEN,
            api_base_url=telegram.base_url,
            file_base_url=telegram.base_url.replace("/bot", "/file/bot"),
            mode="webhook",
            webhook_secret=TELEGRAM_SECRET,
        ),
        wecom=WeComSettings(
            enabled=True,
            corp_id=fake_wecom.CORP_ID,
            agent_id=fake_wecom.AGENT_ID,
            secret=SecretStr(fake_wecom.SECRET),
            token=SecretStr(fake_wecom.TOKEN),
            encoding_aes_key=SecretStr(fake_wecom.AES_KEY),
            api_base_url=wecom_base,
        ),
    )
    settings.handoff.hours.always_open = True
    kefu = await Kefu.create(settings, configure_logs=False)
    await kefu.start()
    await kefu.handoff.agents.add("alice", password=PASSWORD)
    async with TestClient(TestServer(kefu.web_app())) as client:
        [queued] = await rest(client, "carol", "转人工")
        agent = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        csrf = await log_in(client, agent)
        waiting = int(queued["custom"]["handoff"]["handoff_id"])
        sender = fake_wecom.CallbackSender(str(client.make_url(settings.wecom.callback_path)))
        try:
            yield Hostile(kefu, client, agent, csrf, waiting, sender)
        finally:
            await sender.close()
            await agent.close()
    await kefu.close()
    await wecom_api.stop()
    await telegram.stop()


async def rest(client: Client, sender: str, text: str) -> list[dict[str, Any]]:
    body = {"sender": sender, "message": text}
    response = await client.post("/webhooks/rest/webhook", json=body, headers=BACKEND)
    assert response.status == 200, await response.text()
    replies: list[dict[str, Any]] = await response.json()
    return replies


async def log_in(client: Client, agent: aiohttp.ClientSession) -> str:
    page = await agent.get(client.make_url("/agent/login"))
    token = page.cookies["kefu_login_csrf"].value
    form = {"name": "alice", "password": PASSWORD, "csrf": token}
    response = await agent.post(client.make_url("/agent/login"), data=form, allow_redirects=False)
    assert response.status == 303
    me = await (await agent.get(client.make_url("/agent/api/me"))).json()
    return str(me["csrf"])


async def send(hostile: Hostile, case: Case) -> int:
    kwargs = dict(case.kwargs)
    session: Any = hostile.agent if kwargs.pop("signed_in", False) else hostile.client.session
    form_name = kwargs.pop("form_name", None)
    if form_name is not None:  # a real login page first, then a hostile name
        page = await session.get(hostile.client.make_url("/agent/login"))
        token = page.cookies["kefu_login_csrf"].value
        body = f"name={form_name}&password=x&csrf={token}".encode("utf-8", "surrogatepass")
        kwargs = {"data": body, "headers": {"Content-Type": "application/x-www-form-urlencoded"}}
    path = case.path.replace("{waiting}", str(hostile.waiting))
    url = hostile.client.make_url(path)
    async with session.request(case.method, url, allow_redirects=False, **kwargs) as response:
        await response.read()
        return int(response.status)


async def test_no_hostile_request_gets_a_5xx_and_the_server_stays_healthy(
    hostile: Hostile,
) -> None:
    cases = [
        *rest_cases(),
        *agent_cases(hostile.csrf),
        *admin_cases(),
        *telegram_cases(),
        *wecom_cases(hostile.wecom, "/webhooks/wecom"),
    ]
    statuses = [(case.name, await send(hostile, case)) for case in cases]
    failures = [(name, status) for name, status in statuses if status >= 500]
    print(f"\nmalformed requests tried: {len(cases)}, 5xx seen: {len(failures)}")
    assert len(cases) >= 150
    assert failures == []
    await assert_healthy(hostile)


async def test_every_hostile_frame_gets_an_answer_and_the_socket_stays_usable(
    hostile: Hostile,
) -> None:
    query_cases = {
        "token non-ASCII": {"token": "tökén"},
        "token overlong": {"token": "x" * 4000},
        "identity surrogate": {"user_id": "\udfff", "user_hash": "0"},
        "identity NUL": {"user_id": "a\x00b", "user_hash": "a\x00b"},
        "api sender huge": {"sender": "9" * 5000},
    }
    for name, params in query_cases.items():
        query = "&".join(f"{k}={v}" for k, v in params.items()).encode("utf-8", "surrogatepass")
        url = hostile.client.make_url("/ws?" + query.decode("latin-1"))
        async with hostile.client.session.ws_connect(url) as ws:
            first = await ws.receive_json(timeout=10)
            assert first["type"] in ("session", "error"), name
    async with hostile.client.ws_connect(
        "/ws", params={"sender": "wsguest"}, headers=BACKEND
    ) as ws:
        assert (await ws.receive_json(timeout=10))["type"] == "session"
        for name, frame in WS_FRAMES.items():
            if isinstance(frame, bytes):
                await ws.send_bytes(frame)
            else:
                await ws.send_str(frame)
            answer = await until_answer(ws)
            assert answer["type"] in ("error", "reply"), name
            assert not ws.closed, name
        # Two unanswerable messages in a row queue the customer for a human (the bot then
        # stays quiet), so the socket proves usable by taking the next message.
        await ws.send_json({"type": "message", "text": "How long is the warranty?"})
        assert (await ws.receive_json(timeout=10))["type"] == "typing"
        assert not ws.closed
    async with hostile.client.ws_connect(
        "/ws", params={"sender": "wsguest2"}, headers=BACKEND
    ) as ws:
        await ws.receive_json(timeout=10)  # the session frame
        await ws.send_json({"type": "message", "text": "How long is the warranty?"})
        assert "warranty" in (await until_answer(ws))["text"].lower()


async def test_unstorable_text_is_cleaned_the_same_way_before_it_is_stored_or_delivered(
    hostile: Hostile,
) -> None:
    """A lone surrogate or NUL from a customer or an agent is dropped once, at the door."""
    raw = (
        b'{"sender": "dora", "message": "\\u600e\\u4e48\\u5f00\\u53d1\\u7968\\ud800\\u0000\\uff1f"}'
    )
    response = await hostile.client.post("/webhooks/rest/webhook", data=raw, headers=BACKEND)
    assert response.status == 200
    events = await hostile.kefu.store.events(ConversationKey("rest", "dora", "dora"))
    assert events[0].text == "怎么开发票？"
    claim = f"/agent/api/handoffs/{hostile.waiting}/claim"
    url = hostile.client.make_url
    headers = {"X-CSRF-Token": hostile.csrf, "Content-Type": "application/json"}
    assert (await hostile.agent.post(url(claim), headers=headers)).status == 200
    reply = b'{"text": "\\u60a8\\u597d\\ud83d\\u0000!"}'
    posted = await hostile.agent.post(
        url(f"/agent/api/handoffs/{hostile.waiting}/messages"), data=reply, headers=headers
    )
    assert posted.status == 200
    waiting = await hostile.client.get(
        "/webhooks/rest/messages", params={"sender": "carol"}, headers=BACKEND
    )
    assert "您好!" in [m["text"] for m in await waiting.json()]
    [agent_line] = await hostile.kefu.store.events(CAROL, kinds=[EventKind.AGENT_MESSAGE])
    assert agent_line.text == "您好!"


async def until_answer(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    while True:
        message = await ws.receive(timeout=15)
        assert message.type is WSMsgType.TEXT, message
        frame: dict[str, Any] = json.loads(message.data)
        if frame["type"] in ("error", "reply"):
            return frame


async def assert_healthy(hostile: Hostile) -> None:
    assert (await hostile.client.get("/healthz")).status == 200
    [answer] = await rest(hostile.client, "frank", "How long is the warranty?")
    assert "warranty" in answer["text"].lower()
    async with hostile.kefu.db.sessions() as session:
        rows = (await session.scalars(select(Event))).all()
    for row in rows:
        stored = json.dumps(row.payload, ensure_ascii=False) + (row.text or "")
        assert storable(stored) == stored
