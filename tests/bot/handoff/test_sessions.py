"""Agent sign-in behind a reverse proxy: failed logins slow down one (account, client) pair,
logout and password changes end sessions on the server, cookies are Secure over TLS.

The test server plays a TLS-terminating proxy on 127.0.0.1 (a configured trusted proxy) that
forwards each browser's address in ``X-Forwarded-For``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.handoff import HandoffService
from core.settings import KefuSettings
from tests.bot.handoff.conftest import AgentBrowser

Site = TestClient[Any, Any]
Browsers = Callable[[], AgentBrowser]
PASSWORD = "correct horse battery"
NEW_PASSWORD = "another long passphrase"
ATTACKER = {"X-Forwarded-For": "203.0.113.9"}
AGENT_DESK = {"X-Forwarded-For": "198.51.100.7"}


@pytest.fixture
def settings(settings: KefuSettings) -> KefuSettings:
    settings.server.trusted_proxies = ["127.0.0.1"]
    return settings


def behind_proxy(browser: AgentBrowser, forwarded: dict[str, str]) -> AgentBrowser:
    browser.http.headers.update(forwarded)
    return browser


async def test_guessing_from_one_address_does_not_lock_the_agent_out_elsewhere(
    site: Site, browsers: Browsers, handoff: HandoffService
) -> None:
    await handoff.agents.add("alice", password=PASSWORD)
    attacker = behind_proxy(browsers(), ATTACKER)
    for _ in range(5):
        assert (await attacker.login("alice", "guess-guess")).status == 401
    assert (await attacker.login("alice", PASSWORD)).status == 429  # this pair waits
    # The real agent, at her own desk behind the same proxy, logs in at once.
    assert (await behind_proxy(browsers(), AGENT_DESK).login("alice", PASSWORD)).status == 303


async def test_logout_revokes_the_session_on_the_server(
    site: Site, browsers: Browsers, handoff: HandoffService
) -> None:
    await handoff.agents.add("alice", password=PASSWORD)
    browser = behind_proxy(browsers(), AGENT_DESK)
    assert (await browser.login("alice", PASSWORD)).status == 303
    [cookie] = [c for c in browser.http.cookie_jar if c.key == "kefu_agent"]
    copied = {"kefu_agent": cookie.value}
    assert (await site.get("/agent/api/queue", cookies=copied)).status == 200
    assert (await browser.post("/agent/logout")).status == 200
    # The old cookie, replayed (a shared computer, a stolen copy), no longer works.
    assert (await site.get("/agent/api/queue", cookies=copied)).status == 401


async def test_a_password_change_ends_every_other_session(
    site: Site, browsers: Browsers, handoff: HandoffService
) -> None:
    await handoff.agents.add("alice", password=PASSWORD)
    laptop, phone = behind_proxy(browsers(), AGENT_DESK), behind_proxy(browsers(), ATTACKER)
    assert (await laptop.login("alice", PASSWORD)).status == 303
    assert (await phone.login("alice", PASSWORD)).status == 303
    wrong = await laptop.post("/agent/api/password", {"current": "nope", "new": NEW_PASSWORD})
    assert wrong.status == 403
    changed = await laptop.post("/agent/api/password", {"current": PASSWORD, "new": NEW_PASSWORD})
    assert changed.status == 200
    assert (await phone.http.get("/agent/api/queue")).status == 401
    assert (await laptop.http.get("/agent/api/queue")).status == 200  # got a fresh session
    again = behind_proxy(browsers(), AGENT_DESK)
    assert (await again.login("alice", PASSWORD)).status == 401
    assert (await again.login("alice", NEW_PASSWORD)).status == 303


async def test_cookies_are_secure_when_the_proxy_says_https(
    site: Site, browsers: Browsers, handoff: HandoffService
) -> None:
    await handoff.agents.add("alice", password=PASSWORD)
    browser = behind_proxy(browsers(), AGENT_DESK)
    page = await browser.http.get("/agent/login")
    token = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert token is not None
    form = {"name": "alice", "password": PASSWORD, "csrf": token.group(1)}
    https = {"X-Forwarded-Proto": "https"}
    response = await browser.http.post(
        "/agent/login", data=form, headers=https, allow_redirects=False
    )
    assert response.status == 303
    assert "Secure" in response.headers["Set-Cookie"]
    plain = behind_proxy(browsers(), AGENT_DESK)
    assert "Secure" not in (await plain.login("alice", PASSWORD)).headers["Set-Cookie"]
