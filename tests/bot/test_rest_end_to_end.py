"""A customer on the REST channel, against the real bot and the demo knowledge base."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bot.app import Kefu
from core.events import EventKind
from core.settings import KefuSettings
from core.types import ConversationKey
from tests.bot.conftest import ask

Client = TestClient[Any, Any]


async def test_demo_question_gets_the_faq_answer_with_a_citation(
    client: Client, demo_faq: dict[str, dict[str, str]]
) -> None:
    [reply] = await ask(client, "alice", "怎么开发票？")
    assert reply["recipient_id"] == "alice"
    assert reply["text"] == demo_faq["invoices-request-zh"]["answer"]
    assert reply["custom"]["answer_kind"] == "faq"
    assert reply["custom"]["citations"][0]["source"].endswith("faq.csv")


async def test_english_question_is_answered_in_english(
    client: Client, demo_faq: dict[str, dict[str, str]]
) -> None:
    [reply] = await ask(client, "bob", "How long is the warranty?")
    assert reply["text"] == demo_faq["warranty-period-en"]["answer"]


async def test_unrelated_question_gets_an_honest_dont_know_and_a_human_offer(
    client: Client,
) -> None:
    [reply] = await ask(client, "carol", "明天上海会下雨吗？")
    assert reply["custom"]["answer_kind"] == "dont_know"
    assert reply["custom"]["citations"] == []
    assert [b["payload"] for b in reply["buttons"]] == ["转人工"]


async def test_follow_up_is_understood_from_the_previous_turn(
    client: Client, demo_faq: dict[str, dict[str, str]]
) -> None:
    [first] = await ask(client, "dave", "支持7天无理由退货吗？")
    [reply] = await ask(client, "dave", "那换货呢？")
    # answered about exchanges (the part that differs), not "don't know" or the same answer
    assert "换" in reply["text"] and reply["text"] != first["text"]
    assert reply["custom"]["answer_kind"] in ("faq", "passage")
    [source] = reply["custom"]["citations"][:1]
    assert source["doc_id"].startswith("returns-")


async def test_a_longer_follow_up_is_read_with_the_previous_question(client: Client) -> None:
    await ask(client, "dora", "how many points do I get per yuan")
    [reply] = await ask(client, "dora", "and when do they show up in my account?")
    assert reply["custom"]["citations"][0]["doc_id"] == "membership-points-en"
    assert "7 days" in reply["text"]


async def test_a_new_question_opening_with_and_is_answered_on_its_own(client: Client) -> None:
    await ask(client, "dora", "can I pay for a laptop in monthly instalments?")
    [reply] = await ask(client, "dora", "and can I get a company invoice for it?")
    assert reply["custom"]["citations"][0]["doc_id"].startswith("invoices-")


async def test_conversation_survives_a_restart(
    settings: KefuSettings, demo_faq: dict[str, dict[str, str]]
) -> None:
    first = await Kefu.create(settings, configure_logs=False)
    async with TestClient(TestServer(first.web_app())) as client:
        await ask(client, "erin", "How long is the warranty?")
    await first.close()

    second = await Kefu.create(settings, configure_logs=False)
    try:
        key = ConversationKey("rest", "erin", "erin")
        events = await second.store.events(key, kinds=[EventKind.USER_MESSAGE, EventKind.BOT_REPLY])
        assert [e.kind for e in events] == [EventKind.USER_MESSAGE, EventKind.BOT_REPLY]
        async with TestClient(TestServer(second.web_app())) as client:
            [reply] = await ask(client, "erin", "what about laptops?")
        assert reply["custom"]["answer_kind"] in ("faq", "passage")
        # The follow-up alone names no topic; with the earlier turn it is the warranty answer.
        assert "laptop" in reply["text"].lower()
        assert "2" in reply["text"]
    finally:
        await second.close()


async def test_replies_are_recorded_with_citations_in_the_event_log(
    client: Client, kefu: Kefu
) -> None:
    await ask(client, "frank", "退款多久能到账？")
    events = await kefu.store.events(
        ConversationKey("rest", "frank", "frank"),
        kinds=[EventKind.USER_MESSAGE, EventKind.BOT_REPLY],
    )
    user, bot = events
    assert user.text == "退款多久能到账？"
    assert bot.kind == EventKind.BOT_REPLY
    assert bot.payload["citations"]
    assert bot.payload["answer_kind"] in ("faq", "passage")


async def test_order_status_asks_for_the_number_then_answers(client: Client, kefu: Kefu) -> None:
    [ask_number] = await ask(client, "alice", "我的订单到哪了")
    assert ask_number["custom"]["answer_kind"] == "slot_prompt"
    assert "订单号" in ask_number["text"]
    [status] = await ask(client, "alice", "DD20241101")
    assert status["custom"]["answer_kind"] == "tool"
    assert "DD20241101" in status["text"]
    assert "运输中" in status["text"]  # the demo order is in transit


async def test_a_customer_never_sees_another_customers_order(client: Client) -> None:
    await ask(client, "mallory", "Where is my order?")
    [reply] = await ask(client, "mallory", "DD20241101")  # Alice's order
    assert "couldn't find" in reply["text"]
    assert "Xinghe Express" not in reply["text"]


async def test_customer_can_change_topic_while_the_bot_waits_for_a_slot(
    client: Client, demo_faq: dict[str, dict[str, str]]
) -> None:
    await ask(client, "oscar", "我的订单到哪了")
    [reply] = await ask(client, "oscar", "保修期是多久？")
    assert reply["text"] == demo_faq["warranty-period-zh"]["answer"]


async def test_recommendation_comes_from_the_catalogue_with_reasons(client: Client) -> None:
    [reply] = await ask(client, "pat", "推荐一款降噪耳机")
    assert reply["custom"]["answer_kind"] == "recommendation"
    assert reply["custom"]["products"]
    assert reply["text"].startswith("为您推荐")
    assert "1. " in reply["text"]
