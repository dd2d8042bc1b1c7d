"""Feedback through the REST channel, with the hooks wired into the real pipeline.

Needs the lead's wiring (``Kefu.feedback``, the pipeline hooks and the admin routes); see the
feedback room's report for the exact lines.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Kefu
from bot.feedback.dataset import from_ratings
from bot.feedback.transcript import latest_ratings
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
    assert [p.rsplit(" ", 1)[0] for p in payloads(answer)[-2:]] == FEEDBACK
    assert payloads(answer)[-1].endswith(f" ans:{answer['custom']['answer_id']}")
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


async def test_a_button_under_an_earlier_answer_rates_that_answer_and_a_second_click_changes_it(
    client: Client, kefu: Kefu
) -> None:
    [warranty] = await ask(client, "dora", "How long is the warranty?")
    [invoice] = await ask(client, "dora", "How do I get an invoice?")
    up, down = payloads(warranty)[-2:]
    await ask(client, "dora", down)  # the earlier answer, pressed after the later one came
    [thanks] = await ask(client, "dora", up)  # changed her mind: 👍 replaces the 👎
    assert thanks["custom"]["feedback"] == "up"

    key = ConversationKey("rest", "dora", "dora")
    events = await kefu.store.events(key)
    replies = {e.payload.get("answer_id"): e.id for e in events if e.kind == EventKind.BOT_REPLY}
    rated = latest_ratings(events)
    assert list(rated) == [replies[warranty["custom"]["answer_id"]]]
    assert rated[replies[warranty["custom"]["answer_id"]]].rating == "up"
    assert replies[invoice["custom"]["answer_id"]] not in rated
    record = await kefu.store.get(key)
    assert record is not None
    [example] = from_ratings(record, events, context_turns=2, context_gap=timedelta(hours=1))
    assert (example.question, example.answer) == ("How long is the warranty?", warranty["text"])


async def test_a_button_naming_an_answer_of_another_conversation_rates_nothing(
    client: Client, kefu: Kefu
) -> None:
    [answer] = await ask(client, "erin", "How long is the warranty?")
    [reply] = await ask(client, "mallory", payloads(answer)[-2])
    assert reply["custom"]["feedback"] == "none"
    assert await ratings(kefu, "erin") == [] and await ratings(kefu, "mallory") == []
