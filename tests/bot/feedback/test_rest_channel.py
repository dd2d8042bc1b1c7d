"""Feedback through the REST channel, with the hooks wired into the real pipeline.

Needs the lead's wiring (``Kefu.feedback``, the pipeline hooks and the admin routes); see the
feedback room's report for the exact lines.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Kefu
from core.events import EventKind
from core.types import ConversationKey
from tests.bot.conftest import ask

Client = TestClient[Any, Any]
FEEDBACK = ["/feedback up", "/feedback down"]


def payloads(reply: dict[str, Any]) -> list[str]:
    return [button["payload"] for button in reply.get("buttons", [])]


async def ratings(kefu: Kefu, user: str) -> list[dict[str, Any]]:
    key = ConversationKey("rest", user, user)
    return [e.payload for e in await kefu.store.events(key, kinds=[EventKind.FEEDBACK])]


async def test_knowledge_answers_offer_thumbs_and_dont_know_offers_a_human(
    client: Client,
) -> None:
    [answer] = await ask(client, "alice", "怎么开发票？")
    assert answer["custom"]["answer_kind"] == "faq"
    assert payloads(answer)[-2:] == FEEDBACK
    assert [b["title"][0] for b in answer["buttons"][-2:]] == ["👍", "👎"]

    [unknown] = await ask(client, "alice", "明天上海会下雨吗？")
    assert payloads(unknown) == ["转人工"]


async def test_pressing_thumbs_up_records_a_rating_for_that_answer(
    client: Client, kefu: Kefu
) -> None:
    await ask(client, "bob", "How long is the warranty?")
    [thanks] = await ask(client, "bob", "/feedback up")

    assert thanks["text"] == "Thanks for the feedback, glad it helped!"
    [rating] = await ratings(kefu, "bob")
    answers = await kefu.store.events(ConversationKey("rest", "bob", "bob"), kinds=["bot_reply"])
    assert rating["rating"] == "up" and rating["reply_event_id"] == answers[0].id


async def test_thumbs_down_then_a_reason_is_recorded_not_answered(
    client: Client, kefu: Kefu
) -> None:
    await ask(client, "carol", "支持7天无理由退货吗？")
    [asked] = await ask(client, "carol", "/feedback down")
    assert "哪里不对" in asked["text"] and payloads(asked) == ["转人工"]

    [thanks] = await ask(client, "carol", "我买的是定制商品，回答没提到")

    assert "已记录" in thanks["text"]
    assert [r["reason"] for r in await ratings(kefu, "carol")] == [
        None,
        "我买的是定制商品，回答没提到",
    ]
    [answer] = await ask(client, "carol", "怎么开发票？")  # back to normal answering
    assert answer["custom"]["answer_kind"] == "faq"


async def test_an_admin_reviews_and_approves_on_the_channel(client: Client, kefu: Kefu) -> None:
    await ask(client, "dave", "明天上海会下雨吗？")
    await kefu.store.append_event(
        ConversationKey("rest", "dave", "dave"),
        EventKind.AGENT_MESSAGE,
        text="我们无法提供天气预报，发货不受天气影响。",
        payload={"agent_id": "agent-1"},
    )

    [refused] = await ask(client, "dave", "/feedback review")
    assert refused["custom"]["answer_kind"] == "refusal"
    [listing] = await ask(client, "admin", "/feedback review")
    [candidate_id] = re.findall(r"#(\d+) \[dont_know\]", listing["text"])
    [approved] = await ask(client, "admin", f"/feedback approve {candidate_id}")
    assert "已通过" in approved["text"] or "approved" in approved["text"]

    [answer] = await ask(client, "erin", "明天上海会下雨吗？")
    assert answer["text"] == "我们无法提供天气预报，发货不受天气影响。"


async def test_the_admin_pages_are_mounted_and_closed_without_a_token(client: Client) -> None:
    for path in ("/admin/review", "/admin/dashboard"):
        response = await client.get(path)
        assert response.status == 403
        assert "KEFU_FEEDBACK__ADMIN_TOKEN" in await response.text()
