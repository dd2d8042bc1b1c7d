"""The web chat page and its WebSocket."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Kefu
from core.types import ConversationKey, OutgoingMessage

Client = TestClient[Any, Any]


async def test_page_is_served(client: Client) -> None:
    response = await client.get("/")
    assert response.status == 200
    page = await response.text()
    assert "<title>Kefu" in page
    assert "/ws?sender=" in page


async def test_question_over_websocket_gets_a_cited_answer(
    client: Client, demo_faq: dict[str, dict[str, str]]
) -> None:
    async with client.ws_connect("/ws", params={"sender": "web-abc"}) as ws:
        await ws.send_json({"type": "message", "text": "How do I get an invoice?"})
        assert (await ws.receive_json())["type"] == "typing"
        reply = await ws.receive_json()
    assert reply["type"] == "reply"
    assert reply["text"] == demo_faq["invoices-request-en"]["answer"]
    assert reply["custom"]["citations"]


async def test_bad_frame_gets_an_error_and_the_socket_stays_open(client: Client) -> None:
    async with client.ws_connect("/ws", params={"sender": "web-def"}) as ws:
        await ws.send_str("{oops")
        assert (await ws.receive_json())["type"] == "error"
        await ws.send_json({"type": "message", "text": "怎么开发票？"})
        assert (await ws.receive_json())["type"] == "typing"
        assert (await ws.receive_json())["type"] == "reply"


async def test_later_message_reaches_a_connected_customer_and_waits_for_an_absent_one(
    client: Client, kefu: Kefu
) -> None:
    async with client.ws_connect("/ws", params={"sender": "web-live"}) as ws:
        await kefu.deliver(ConversationKey("web", "web-live", "web-live"), OutgoingMessage("hi"))
        assert (await ws.receive_json())["text"] == "hi"
    await kefu.deliver(ConversationKey("web", "web-away", "web-away"), OutgoingMessage("later"))
    async with client.ws_connect("/ws", params={"sender": "web-away"}) as ws:
        assert (await ws.receive_json())["text"] == "later"
