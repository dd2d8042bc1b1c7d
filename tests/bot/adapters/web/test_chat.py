"""The web chat page and its WebSocket."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Kefu
from core.types import ConversationKey, OutgoingMessage
from tests.bot.conftest import BACKEND
from tests.fakes.openai_server import BreakStream, FakeOpenAIServer, Reply

Client = TestClient[Any, Any]


async def test_page_is_served(client: Client) -> None:
    response = await client.get("/")
    assert response.status == 200
    page = await response.text()
    assert "<title>Kefu" in page
    assert 'src="/widget.js"' in page
    widget = await client.get("/widget.js")
    assert widget.headers["Content-Type"].startswith("application/javascript")
    assert "/ws?" in await widget.text()


async def test_question_over_websocket_gets_a_cited_answer(
    client: Client, demo_faq: dict[str, dict[str, str]]
) -> None:
    async with client.ws_connect("/ws", params={"sender": "web-abc"}, headers=BACKEND) as ws:
        await joined(ws)
        await ws.send_json({"type": "message", "text": "How do I get an invoice?"})
        assert (await ws.receive_json())["type"] == "typing"
        reply = await ws.receive_json()
    assert reply["type"] == "reply"
    assert reply["text"] == demo_faq["invoices-request-en"]["answer"]
    assert reply["custom"]["citations"]


async def test_bad_frame_gets_an_error_and_the_socket_stays_open(client: Client) -> None:
    async with client.ws_connect("/ws", params={"sender": "web-def"}, headers=BACKEND) as ws:
        await joined(ws)
        await ws.send_str("{oops")
        assert (await ws.receive_json())["type"] == "error"
        await ws.send_json({"type": "message", "text": "怎么开发票？"})
        assert (await ws.receive_json())["type"] == "typing"
        assert (await ws.receive_json())["type"] == "reply"


async def test_later_message_reaches_a_connected_customer_and_waits_for_an_absent_one(
    client: Client, kefu: Kefu
) -> None:
    async with client.ws_connect("/ws", params={"sender": "web-live"}, headers=BACKEND) as ws:
        await joined(ws)
        await kefu.deliver(ConversationKey("web", "web-live", "web-live"), OutgoingMessage("hi"))
        assert (await ws.receive_json())["text"] == "hi"
    await kefu.deliver(ConversationKey("web", "web-away", "web-away"), OutgoingMessage("later"))
    async with client.ws_connect("/ws", params={"sender": "web-away"}, headers=BACKEND) as ws:
        await joined(ws)
        assert (await ws.receive_json())["text"] == "later"


async def joined(ws: Any) -> dict[str, Any]:
    """The first frame says whom the socket speaks for."""
    frame: dict[str, Any] = await ws.receive_json(timeout=10)
    assert frame["type"] == "session"
    return frame


async def frames_until_reply(ws: Any) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    while not frames or frames[-1]["type"] != "reply":
        frames.append(await ws.receive_json(timeout=10))
    return frames


async def test_generated_answer_streams_then_the_final_text_replaces_the_draft(
    llm_client: Client, llm_server: FakeOpenAIServer
) -> None:
    llm_server.enqueue(Reply(text="Laptops have a 2-year warranty [资料1]."))
    async with llm_client.ws_connect("/ws", params={"sender": "web-stream"}, headers=BACKEND) as ws:
        await joined(ws)
        await ws.send_json({"type": "message", "text": "How long is the laptop warranty?"})
        frames = await frames_until_reply(ws)
    deltas = [f for f in frames if f["type"] == "delta"]
    assert len(deltas) > 1  # piece by piece, before the answer is complete
    assert "".join(d["text"] for d in deltas) == "Laptops have a 2-year warranty [资料1]."
    reply = frames[-1]
    assert reply["replaces"] == deltas[0]["stream_id"]
    assert reply["text"] == "Laptops have a 2-year warranty [1]."  # citation checked
    assert reply["custom"]["citations"]
    assert llm_server.requests[-1].body["stream"] is True


async def test_broken_stream_is_replaced_by_the_extractive_answer(
    llm_client: Client, llm_server: FakeOpenAIServer
) -> None:
    llm_server.enqueue(BreakStream("Laptops are covered for two years from delivery", 2))
    async with llm_client.ws_connect("/ws", params={"sender": "web-broken"}, headers=BACKEND) as ws:
        await joined(ws)
        await ws.send_json({"type": "message", "text": "How long is the laptop warranty?"})
        frames = await frames_until_reply(ws)
    deltas = [f for f in frames if f["type"] == "delta"]
    assert "".join(d["text"] for d in deltas) == "Laptops are "
    reply = frames[-1]
    assert reply["replaces"] == deltas[0]["stream_id"]
    assert reply["custom"]["answer_kind"] in ("passage", "faq")
    assert "2" in reply["text"]  # the extractive answer still tells the customer


async def test_answers_that_are_not_generated_arrive_whole(
    llm_client: Client, llm_server: FakeOpenAIServer
) -> None:
    async with llm_client.ws_connect("/ws", params={"sender": "web-whole"}, headers=BACKEND) as ws:
        await joined(ws)
        await ws.send_json({"type": "message", "text": "明天上海会下雨吗？"})
        frames = await frames_until_reply(ws)
    assert [f["type"] for f in frames] == ["typing", "reply"]
    assert "replaces" not in frames[-1]
    assert llm_server.requests == []
