"""Who a REST or web chat customer is: only a credential says so, never a chosen ``sender``.

Every attempt to act as Alice (whose order DD20241101 is in the demo shop and who has an agent
reply waiting) without her credential must get nothing of hers.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.adapters.web.identity import TOKEN_HEADER, CustomerIdentity, customer_identity
from bot.app import Kefu
from bot.proxies import TrustedProxies
from core.settings import KefuSettings
from core.types import ConversationKey, OutgoingMessage, utcnow
from tests.bot.conftest import BACKEND, Client

WEBHOOK = "/webhooks/rest/webhook"
PENDING = "/webhooks/rest/messages"
SECRET = "host-site-shared-secret"
ALICE_REPLY = "Alice, your replacement ships today (agent Wang)"
PARTNER = "https://shop.example.com"


def proof(user_id: str, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def settings(settings: KefuSettings) -> KefuSettings:
    settings.web.identity_secret = SecretStr(SECRET)
    settings.web.allowed_origins = [PARTNER]
    return settings


async def post(client: Client, body: dict[str, Any], **headers: str) -> aiohttp.ClientResponse:
    return await client.post(WEBHOOK, json=body, headers=headers)


async def texts(response: aiohttp.ClientResponse) -> list[str]:
    assert response.status == 200, await response.text()
    return [m["text"] for m in await response.json()]


async def test_a_chosen_sender_alone_is_an_anonymous_visitor_who_sees_nothing_of_alice(
    client: Client, kefu: Kefu
) -> None:
    await kefu.deliver(ConversationKey("rest", "alice", "alice"), OutgoingMessage(ALICE_REPLY))
    first = await post(client, {"sender": "alice", "message": "Where is my order?"})
    token = first.headers[TOKEN_HEADER]
    [reply] = await first.json()
    assert reply["recipient_id"].startswith("visitor-")
    assert ALICE_REPLY not in reply["text"]
    # The visitor's own token continues the visitor's conversation, not Alice's.
    second = await post(
        client, {"sender": "alice", "message": "DD20241101"}, Authorization=f"Bearer {token}"
    )
    [status] = await second.json()
    assert status["recipient_id"] == reply["recipient_id"]
    assert "couldn't find" in status["text"]
    assert "Xinghe Express" not in status["text"]
    # Alice's waiting agent reply is still there for Alice's own backend.
    backend = await client.get(PENDING, params={"sender": "alice"}, headers=BACKEND)
    assert await texts(backend) == [ALICE_REPLY]


IMPERSONATIONS: list[tuple[str, dict[str, str], dict[str, str]]] = [
    ("no credential", {"sender": "alice"}, {}),
    ("wrong API token", {"sender": "alice"}, {"Authorization": "Bearer not-the-token"}),
    ("non-ASCII API token", {"sender": "alice"}, {"Authorization": "Bearer tökén✓"}),
    ("token in the wrong header", {"sender": "alice"}, {"X-Api-Token": "test-rest-token"}),
    ("wrong identity proof", {"user_id": "alice", "user_hash": "0" * 64}, {}),
    ("bob's proof for alice", {"user_id": "alice", "user_hash": proof("bob")}, {}),
    ("proof with another secret", {"user_id": "alice", "user_hash": proof("alice", "x")}, {}),
    ("user id without proof", {"user_id": "alice"}, {}),
    ("forged customer token", {"token": "kc1.u.YWxpY2U.9999999999.forged"}, {}),
    ("non-ASCII customer token", {"token": "kc1.u.YWxpY2U.9999999999.ünïcode"}, {}),
]


async def test_pending_messages_need_alices_own_credential(client: Client, kefu: Kefu) -> None:
    """Each attempt gets 401 and takes nothing; Alice's reply stays for her."""
    await kefu.deliver(ConversationKey("rest", "alice", "alice"), OutgoingMessage(ALICE_REPLY))
    for name, params, headers in IMPERSONATIONS:
        response = await client.get(PENDING, params=params, headers=headers)
        assert response.status == 401, name
        assert ALICE_REPLY not in await response.text(), name
    signed = {"user_id": "alice", "user_hash": proof("alice")}
    assert await texts(await client.get(PENDING, params=signed)) == [ALICE_REPLY]


async def test_no_attempt_on_the_webhook_speaks_for_alice(client: Client) -> None:
    """A wrong credential is refused (never a silent fresh visitor); no credential at all is
    a fresh visitor. Neither is Alice, nor sees her order."""
    for name, fields, headers in IMPERSONATIONS:
        await post(client, {**fields, "message": "Where is my order?"}, **headers)
        response = await post(client, {**fields, "message": "DD20241101"}, **headers)
        body = await response.text()
        assert "Xinghe Express" not in body, name
        if response.status == 200:
            assert {m["recipient_id"] for m in await response.json()} != {"alice"}, name
        else:
            assert response.status == 401, name
        wrong_credential = name not in ("no credential", "token in the wrong header")
        assert (response.status == 401) == wrong_credential, name


async def test_a_signed_identity_is_that_customer_on_rest_and_on_the_socket(
    client: Client, kefu: Kefu
) -> None:
    signed = {"user_id": "alice", "user_hash": proof("alice")}
    await post(client, {**signed, "message": "Where is my order?"})
    [status] = await texts(await post(client, {**signed, "message": "DD20241101"}))
    assert "Xinghe Express" in status  # Alice's own order
    async with client.ws_connect("/ws", params=signed) as ws:
        session = await ws.receive_json()
        assert (session["sender"], session["kind"]) == ("alice", "user")
        await kefu.deliver(ConversationKey("web", "alice", "alice"), OutgoingMessage("hi Alice"))
        assert (await ws.receive_json())["text"] == "hi Alice"


async def test_a_socket_opened_with_alices_name_does_not_receive_her_messages(
    client: Client, kefu: Kefu
) -> None:
    async with client.ws_connect("/ws", params={"sender": "alice"}) as ws:
        session = await ws.receive_json()
        assert session["kind"] == "visitor" and session["sender"] != "alice"
        await kefu.deliver(ConversationKey("web", "alice", "alice"), OutgoingMessage(ALICE_REPLY))
        await ws.send_json({"type": "message", "text": "hello"})
        frames = [await ws.receive_json(timeout=10) for _ in range(2)]
    assert [f["type"] for f in frames] == ["typing", "reply"]
    assert all(ALICE_REPLY not in str(f) for f in frames)
    for name, params, headers in IMPERSONATIONS:
        async with client.ws_connect("/ws", params=params, headers=headers) as ws:
            first = await ws.receive_json()
            assert first.get("code") == "unauthenticated" or first["sender"] != "alice", name


async def test_customer_tokens_are_bound_to_the_customer_and_expire(settings: KefuSettings) -> None:
    identity = customer_identity(settings)
    token = identity.issue("visitor-abc", "visitor")
    customer = identity.verify(token)
    assert customer is not None and customer.sender == "visitor-abc"
    body, _, signature = token.rpartition(".")
    renamed = body.replace(body.split(".")[2], "YWxpY2U")  # "alice", same signature
    assert identity.verify(f"{renamed}.{signature}") is None
    assert identity.verify(token.replace(".v.", ".u.")) is None
    later = CustomerIdentity(
        settings.web,
        b"k",
        TrustedProxies([]),
        clock=lambda: utcnow() + timedelta(days=settings.web.visitor_token_days + 1),
    )
    assert later.verify(later.issue("visitor-abc", "visitor")) is not None
    expired = CustomerIdentity(
        settings.web,
        b"k",
        TrustedProxies([]),
        clock=lambda: utcnow() - timedelta(days=settings.web.visitor_token_days + 1),
    ).issue("visitor-abc", "visitor")
    assert later.verify(expired) is None


async def test_without_anonymous_visitors_rest_needs_a_credential(
    settings: KefuSettings,
) -> None:
    settings.web.anonymous_visitors = False
    kefu = await Kefu.create(settings, configure_logs=False)
    try:
        async with TestClient(TestServer(kefu.web_app())) as client:
            refused = await post(client, {"sender": "alice", "message": "hi"})
            assert refused.status == 401
            assert len(await texts(await post(client, {"sender": "a", "message": "hi"}, **BACKEND)))
    finally:
        await kefu.close()


async def test_browsers_on_other_sites_are_refused_and_listed_sites_get_cors(
    client: Client,
) -> None:
    preflight = {"Origin": PARTNER, "Access-Control-Request-Method": "POST"}
    allowed = await client.options(WEBHOOK, headers=preflight)
    assert allowed.status == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == PARTNER
    assert "Authorization" in allowed.headers["Access-Control-Allow-Headers"]
    answered = await post(client, {"message": "hi"}, Origin=PARTNER)
    assert answered.status == 200
    assert TOKEN_HEADER in answered.headers["Access-Control-Expose-Headers"]
    evil = await post(client, {"message": "hi"}, Origin="https://evil.example")
    assert evil.status == 403
    assert (await client.options(WEBHOOK, headers={"Origin": "https://evil.example"})).status == 403
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/ws", headers={"Origin": "https://evil.example"})
    assert refused.value.status == 403
    async with client.ws_connect("/ws", headers={"Origin": PARTNER}) as ws:
        assert (await ws.receive_json())["type"] == "session"
