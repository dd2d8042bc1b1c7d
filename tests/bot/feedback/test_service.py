"""Ratings and 👎 reasons through FeedbackService's hooks, on a real conversation store."""

from __future__ import annotations

from bot.feedback.service import FeedbackService
from core.events import EventKind
from core.storage import ConversationStore
from core.types import ConversationKey
from tests.bot.feedback.conftest import Clock
from tests.bot.feedback.logs import Chat


async def feedback_events(store: ConversationStore, chat: Chat) -> list[dict[str, object]]:
    return [e.payload for e in await store.events(chat.key, kinds=[EventKind.FEEDBACK])]


async def test_every_knowledge_answer_can_be_rated_with_two_buttons(
    service: FeedbackService,
) -> None:
    buttons = service.buttons("zh")
    assert [b.payload for b in buttons] == ["/feedback up", "/feedback down"]
    assert buttons[0].title.startswith("👍") and buttons[1].title.startswith("👎")
    assert service.buttons("en")[0].title == "👍 Helpful"


async def test_thumbs_up_rates_the_latest_knowledge_answer(
    service: FeedbackService, store: ConversationStore, clock: Clock
) -> None:
    chat = Chat(store, clock, "alice")
    await chat.customer("怎么开发票？")
    first = await chat.bot("在订单详情页申请发票。")
    await chat.customer("保修多久？")
    latest = await chat.bot("笔记本保修两年。", kind="passage")
    await chat.customer("/feedback up")

    replies = await service.handle_command(chat.key, "/feedback up", "zh", is_admin=False)

    assert replies is not None and "感谢" in replies[0].text
    [rating] = await feedback_events(store, chat)
    assert rating["rating"] == "up"
    assert rating["reply_event_id"] == latest.id != first.id


async def test_a_dont_know_reply_is_not_what_gets_rated(
    service: FeedbackService, store: ConversationStore, clock: Clock
) -> None:
    chat = Chat(store, clock, "bob")
    await chat.customer("How long is the warranty?")
    answer = await chat.bot("Two years.")
    await chat.customer("Will it rain tomorrow?")
    await chat.bot("Sorry, I don't know.", kind="dont_know")

    await service.handle_command(chat.key, "👍", "en", is_admin=False)

    [rating] = await feedback_events(store, chat)
    assert rating["reply_event_id"] == answer.id


async def test_rating_with_no_answer_yet_says_so_and_records_nothing(
    service: FeedbackService, store: ConversationStore, clock: Clock
) -> None:
    chat = Chat(store, clock, "carol")
    replies = await service.handle_command(chat.key, "/feedback up", "en", is_admin=False)
    assert replies is not None and replies[0].text == "There's no answer to rate yet."
    assert await feedback_events(store, chat) == []


async def test_thumbs_down_asks_why_and_the_next_message_is_the_reason(
    service: FeedbackService, store: ConversationStore, clock: Clock
) -> None:
    chat = Chat(store, clock, "dave")
    await chat.customer("支持7天无理由退货吗？")
    answer = await chat.bot("支持，签收后7天内可退货。")
    await chat.customer("/feedback down")
    # The pipeline detects "/feedback down" as English: the reply follows the rated answer.
    asked = await service.handle_command(chat.key, "/feedback down", "en", is_admin=False)
    assert asked is not None
    await chat.record(asked)
    assert "哪里不对" in asked[0].text
    assert [b.payload for b in asked[0].buttons] == ["转人工"]  # a way to a human

    await chat.customer("我买的是定制商品，你没说定制不能退")
    thanks = await service.take_pending_reason(chat.key, "我买的是定制商品，你没说定制不能退")
    assert thanks is not None and "已记录" in thanks[0].text
    await chat.record(thanks)

    ratings = await feedback_events(store, chat)
    assert [r["reason"] for r in ratings] == [None, "我买的是定制商品，你没说定制不能退"]
    assert {r["reply_event_id"] for r in ratings} == {answer.id}
    # Only one reason is taken: the next message is answered normally.
    await chat.customer("好的谢谢")
    assert await service.take_pending_reason(chat.key, "好的谢谢") is None


async def test_a_new_question_after_thumbs_down_is_answered_not_taken_as_a_reason(
    service: FeedbackService, store: ConversationStore, clock: Clock
) -> None:
    chat = Chat(store, clock, "erin")
    await chat.customer("How do I return a phone?")
    await chat.bot("Within 7 days of delivery.")
    await chat.record(await service.handle_command(chat.key, "👎", "en", is_admin=False) or [])

    await chat.customer("What about laptops?")
    assert await service.take_pending_reason(chat.key, "What about laptops?") is None
    assert [r["reason"] for r in await feedback_events(store, chat)] == [None]


async def test_the_reason_is_only_waited_for_a_while(
    service: FeedbackService, store: ConversationStore, clock: Clock
) -> None:
    chat = Chat(store, clock, "frank")
    await chat.customer("How do I return a phone?")
    await chat.bot("Within 7 days of delivery.")
    await chat.record(
        await service.handle_command(chat.key, "/feedback down", "en", is_admin=False) or []
    )

    clock.advance(seconds=service.settings.reason_timeout_s + 1)
    await chat.customer("not helpful at all")
    assert await service.take_pending_reason(chat.key, "not helpful at all") is None


async def test_a_reason_given_with_the_command_needs_no_follow_up(
    service: FeedbackService, store: ConversationStore, clock: Clock
) -> None:
    chat = Chat(store, clock, "gina")
    await chat.customer("How long is the warranty?")
    await chat.bot("Two years.")
    replies = await service.handle_command(
        chat.key, "/feedback down it is one year for phones", "en", is_admin=False
    )
    assert replies is not None and replies[0].text.startswith("Thanks, we've noted")
    await chat.record(replies)
    await chat.customer("ok")
    assert await service.take_pending_reason(chat.key, "ok") is None
    [rating] = await feedback_events(store, chat)
    assert rating["reason"] == "it is one year for phones"


async def test_other_text_is_not_a_feedback_command(service: FeedbackService) -> None:
    key = ConversationKey("rest", "hank", "hank")
    for text in ("how do I return?", "/kb stats", "/feedbacks up", "👍 great"):
        assert await service.handle_command(key, text, "en", is_admin=True) is None


async def test_customers_cannot_review_candidates(
    service: FeedbackService, store: ConversationStore, clock: Clock
) -> None:
    chat = Chat(store, clock, "mallory")
    for command in ("/feedback review", "/feedback approve 1", "/feedback reject 1 spam"):
        [reply] = await service.handle_command(chat.key, command, "en", is_admin=False) or []
        assert reply.text == "Sorry, that command is for administrators only."
    audit = await store.events(chat.key, kinds=[EventKind.ADMIN_COMMAND])
    assert [e.payload["allowed"] for e in audit] == [False, False, False]


async def test_disabled_feedback_offers_no_buttons_and_ignores_commands(
    service: FeedbackService, store: ConversationStore, clock: Clock
) -> None:
    service.settings.enabled = False
    chat = Chat(store, clock, "ivan")
    assert service.buttons("en") == ()
    assert await service.handle_command(chat.key, "/feedback up", "en", is_admin=False) is None
