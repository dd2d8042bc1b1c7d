"""The agent workspace over HTTP against the real bot: sessions, CSRF, rate limits, who may
see what, and the relay between the REST customer and the agent's WebSocket."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from bot.app import Kefu
from bot.handoff import HandoffService
from core.events import EventKind
from core.types import ConversationKey
from tests.bot.conftest import ask, pending
from tests.bot.handoff.conftest import AgentBrowser

Site = TestClient[Any, Any]
Browsers = Callable[[], AgentBrowser]
PASSWORD = "correct horse battery"
CAROL = ConversationKey("rest", "carol", "carol")


async def waiting_id(site: Site, handoff: HandoffService, sender: str = "carol") -> int:
    [reply] = await ask(site, sender, "转人工")
    assert reply["custom"]["handoff"]["state"] == "waiting"
    return int(reply["custom"]["handoff"]["handoff_id"])


async def logged_in(browsers: Browsers, handoff: HandoffService, name: str) -> AgentBrowser:
    await handoff.agents.add(name, password=PASSWORD)
    browser = browsers()
    assert (await browser.login(name, PASSWORD)).status == 303
    return browser


async def test_every_page_api_and_socket_needs_a_session(site: Site) -> None:
    page = await site.get("/agent", allow_redirects=False)
    assert (page.status, page.headers["Location"]) == (302, "/agent/login")
    assert (await site.get("/agent/api/queue")).status == 401
    assert (await site.post("/agent/api/handoffs/1/claim")).status == 401
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await site.ws_connect("/agent/ws")
    assert refused.value.status == 401


async def test_login_sets_a_signed_http_only_strict_cookie_and_never_logs_the_password(
    site: Site, browsers: Browsers, handoff: HandoffService, capsys: pytest.CaptureFixture[str]
) -> None:
    await handoff.agents.add("alice", password=PASSWORD)
    response = await browsers().login("alice", PASSWORD)
    assert response.status == 303
    cookie = response.headers["Set-Cookie"]
    assert "kefu_agent=" in cookie and "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie and "Path=/agent" in cookie
    assert PASSWORD not in capsys.readouterr().out


async def test_tokens_log_in_too(site: Site, browsers: Browsers, handoff: HandoffService) -> None:
    await handoff.agents.add("bot-ops", token="kefu_secret-token-value")
    assert (await browsers().login("bot-ops", "kefu_secret-token-value")).status == 303


async def test_login_form_without_its_csrf_token_is_refused(
    site: Site, handoff: HandoffService
) -> None:
    await handoff.agents.add("alice", password=PASSWORD)
    response = await site.post("/agent/login", data={"name": "alice", "password": PASSWORD})
    assert response.status == 403


async def test_failed_logins_are_rate_limited(
    site: Site, browsers: Browsers, handoff: HandoffService
) -> None:
    await handoff.agents.add("alice", password=PASSWORD)
    browser = browsers()
    for _ in range(5):
        assert (await browser.login("alice", "guess-guess")).status == 401
    # Even the right password is refused until the window passes.
    assert (await browser.login("alice", PASSWORD)).status == 429


async def test_a_forged_forwarded_header_from_an_untrusted_peer_is_ignored(
    site: Site, browsers: Browsers, handoff: HandoffService
) -> None:
    """Rotating X-Forwarded-For does not escape the limit: no proxy is trusted here."""
    await handoff.agents.add("alice", password=PASSWORD)
    browser = browsers()
    for number in range(5):
        forged = _forwarded(browser, {"X-Forwarded-For": f"192.0.2.{number}"})
        assert (await forged.login("alice", "guess-guess")).status in (401, 429)
    assert (
        await _forwarded(browser, {"X-Forwarded-For": "203.0.113.9"}).login("alice", PASSWORD)
    ).status == 429


def _forwarded(browser: AgentBrowser, headers: dict[str, str]) -> AgentBrowser:
    browser.http.headers.update(headers)
    return browser


async def test_a_tampered_session_cookie_is_refused(
    site: Site, browsers: Browsers, handoff: HandoffService
) -> None:
    browser = await logged_in(browsers, handoff, "alice")
    [cookie] = [c for c in browser.http.cookie_jar if c.key == "kefu_agent"]
    version, session_id, signature = cookie.value.split(".")
    forged = f"{version}.{session_id[::-1]}.{signature}"  # another session id, same signature
    response = await site.get("/agent/api/queue", cookies={"kefu_agent": forged})
    assert response.status == 401


async def test_writes_without_the_csrf_token_are_refused(
    site: Site, browsers: Browsers, handoff: HandoffService
) -> None:
    alice = await logged_in(browsers, handoff, "alice")
    handoff_id = await waiting_id(site, handoff)
    response = await alice.http.post(f"/agent/api/handoffs/{handoff_id}/claim")
    assert response.status == 403
    assert [h.id for h in await handoff.queue.waiting()] == [handoff_id]
    assert (await alice.post(f"/agent/api/handoffs/{handoff_id}/claim")).status == 200


async def test_another_agents_conversation_is_forbidden(
    site: Site, browsers: Browsers, handoff: HandoffService
) -> None:
    alice = await logged_in(browsers, handoff, "alice")
    bob = await logged_in(browsers, handoff, "bob")
    handoff_id = await waiting_id(site, handoff)
    assert (await alice.post(f"/agent/api/handoffs/{handoff_id}/claim")).status == 200

    assert (await bob.http.get(f"/agent/api/handoffs/{handoff_id}")).status == 403
    sent = await bob.post(f"/agent/api/handoffs/{handoff_id}/messages", {"text": "hi"})
    assert sent.status == 403
    assert (await bob.post(f"/agent/api/handoffs/{handoff_id}/close")).status == 403
    queue = await (await bob.http.get("/agent/api/queue")).json()
    assert queue == {"waiting": [], "mine": []}


async def test_two_agents_claiming_at_once_one_wins(
    site: Site, browsers: Browsers, handoff: HandoffService
) -> None:
    alice = await logged_in(browsers, handoff, "alice")
    bob = await logged_in(browsers, handoff, "bob")
    handoff_id = await waiting_id(site, handoff)
    path = f"/agent/api/handoffs/{handoff_id}/claim"
    responses = await asyncio.gather(alice.post(path), bob.post(path))
    assert sorted(r.status for r in responses) == [200, 409]


async def test_disabled_agent_is_logged_out_at_once(
    site: Site, browsers: Browsers, handoff: HandoffService
) -> None:
    alice = await logged_in(browsers, handoff, "alice")
    assert (await alice.http.get("/agent/api/queue")).status == 200
    await handoff.agents.set_active("alice", False)
    assert (await alice.http.get("/agent/api/queue")).status == 401


async def test_messages_are_relayed_both_ways_and_notes_stay_internal(
    site: Site, kefu: Kefu, browsers: Browsers, handoff: HandoffService
) -> None:
    alice = await logged_in(browsers, handoff, "alice")
    socket = await alice.http.ws_connect(f"/agent/ws?csrf={alice.csrf}")
    assert (await socket.receive_json(timeout=5))["type"] == "hello"

    handoff_id = await waiting_id(site, handoff)
    assert (await socket.receive_json(timeout=5))["type"] == "queue"  # pushed, not polled
    claimed = await alice.post(f"/agent/api/handoffs/{handoff_id}/claim")
    detail = await claimed.json()
    assert any(line["text"] == "转人工" for line in detail["transcript"])

    joined = await pending(site, "carol")
    assert "alice" in joined[0]["text"]  # the customer is told a person took over
    assert await ask(site, "carol", "我的耳机左边没声音") == []  # the bot stays silent
    frame = await _next(socket, "message")
    assert (frame["handoff_id"], frame["line"]["text"]) == (handoff_id, "我的耳机左边没声音")

    await alice.post(f"/agent/api/handoffs/{handoff_id}/notes", {"text": "warranty ok"})
    reply = await alice.post(f"/agent/api/handoffs/{handoff_id}/messages", {"text": "请发订单号"})
    assert reply.status == 200
    waiting = await pending(site, "carol")
    texts = [m["text"] for m in waiting]
    assert "请发订单号" in texts
    assert "warranty ok" not in texts
    await socket.close()

    events = await kefu.store.events(CAROL, kinds=[EventKind.AGENT_MESSAGE])
    assert [e.text for e in events] == ["请发订单号"]


async def _next(socket: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    while True:
        frame: dict[str, Any] = await socket.receive_json(timeout=5)
        if frame["type"] == kind:
            return frame
