"""Candidate gold answers derived from the event log, whatever wrote the agent's reply."""

from __future__ import annotations

from bot.feedback.models import CandidateStatus
from bot.feedback.service import FeedbackService
from core.storage import ConversationStore
from tests.bot.feedback.conftest import Clock
from tests.bot.feedback.logs import Chat


async def test_an_agent_answer_to_a_question_the_bot_could_not_answer_is_a_candidate(
    service: FeedbackService, store: ConversationStore, clock: Clock
) -> None:
    chat = Chat(store, clock, "alice")
    await chat.customer("你好")
    await chat.bot("您好！请问有什么可以帮您？", kind="small_talk")
    await chat.customer("可以用比特币付款吗？")
    await chat.bot("抱歉，我不知道。", kind="dont_know")
    await chat.customer("转人工")
    await chat.bot("正在为您转接人工客服。", kind="handoff")
    await chat.handoff("escalated")
    await chat.handoff("claimed", agent="agent-7")
    await chat.agent("目前不支持比特币，可以用支付宝、微信或银行卡。")

    assert await service.scanner.scan() == 1

    [candidate] = await service.candidates.find()
    assert candidate.question == "可以用比特币付款吗？"
    assert candidate.answer == "目前不支持比特币，可以用支付宝、微信或银行卡。"
    assert candidate.trigger == "dont_know"
    assert candidate.status is CandidateStatus.PENDING
    assert candidate.language == "zh"
    assert candidate.conversation_key == chat.key.as_str()
    assert candidate.context == [
        {"role": "user", "content": "你好"},
        {"role": "assistant", "content": "您好！请问有什么可以帮您？"},
    ]


async def test_an_agent_answer_after_a_thumbs_down_is_a_candidate(
    service: FeedbackService, store: ConversationStore, clock: Clock
) -> None:
    chat = Chat(store, clock, "bob")
    await chat.customer("How long is the warranty for phones?")
    answer = await chat.bot("Laptops have a two-year warranty.")
    await chat.rate(answer, "down", "I asked about phones")
    await chat.handoff("escalated")
    await chat.agent("Phones have a one-year warranty.")

    await service.scanner.scan()

    [candidate] = await service.candidates.find()
    assert (candidate.question, candidate.trigger) == (
        "How long is the warranty for phones?",
        "down",
    )
    assert candidate.answer == "Phones have a one-year warranty."


async def test_agent_messages_after_a_good_answer_are_not_candidates(
    service: FeedbackService, store: ConversationStore, clock: Clock
) -> None:
    chat = Chat(store, clock, "carol")
    await chat.customer("How long is the warranty?")
    await chat.bot("Two years.")
    await chat.customer("human please")
    await chat.bot("Connecting you to an agent.", kind="handoff")
    await chat.agent("Hi, anything else I can help with?")

    assert await service.scanner.scan() == 0
    assert await service.candidates.find() == []


async def test_consecutive_agent_messages_form_one_answer_until_the_customer_writes(
    service: FeedbackService, store: ConversationStore, clock: Clock
) -> None:
    chat = Chat(store, clock, "dave")
    await chat.customer("Can I pay with bitcoin?")
    await chat.bot("Sorry, I don't know.", kind="dont_know")
    await chat.agent("Let me check.")
    await chat.agent("We don't accept bitcoin; cards and Alipay work.")
    await chat.customer("ok thanks")
    await chat.agent("You're welcome!")

    await service.scanner.scan()

    [candidate] = await service.candidates.find()
    assert candidate.answer == "Let me check.\nWe don't accept bitcoin; cards and Alipay work."


async def test_scanning_again_finds_nothing_new_and_a_later_reply_extends_the_answer(
    service: FeedbackService, store: ConversationStore, clock: Clock
) -> None:
    chat = Chat(store, clock, "erin")
    await chat.customer("Do you ship to Mars?")
    await chat.bot("Sorry, I don't know.", kind="dont_know")
    await chat.agent("No.")
    assert await service.scanner.scan() == 1
    assert await service.scanner.scan() == 0

    clock.advance(hours=1)  # outside the re-read window: found through the cursor
    await chat.agent("Only to Earth addresses, sorry.")
    assert await service.scanner.scan() == 0

    [candidate] = await service.candidates.find()
    assert candidate.answer == "No.\nOnly to Earth addresses, sorry."


async def test_a_reviewed_candidate_is_not_changed_by_later_messages(
    service: FeedbackService, store: ConversationStore, clock: Clock
) -> None:
    chat = Chat(store, clock, "frank")
    await chat.customer("Do you ship to Mars?")
    await chat.bot("Sorry, I don't know.", kind="dont_know")
    await chat.agent("No.")
    [candidate] = await service.review.pending()
    await service.review.reject(candidate.id, "admin", "too short")

    await chat.agent("We only ship on Earth.")
    await service.scanner.scan()

    [stored] = await service.candidates.find()
    assert (stored.status, stored.answer, stored.reason) == (
        CandidateStatus.REJECTED,
        "No.",
        "too short",
    )


async def test_candidates_from_many_conversations_each_once(
    service: FeedbackService, store: ConversationStore, clock: Clock
) -> None:
    for user in ("u1", "u2", "u3"):
        chat = Chat(store, clock, user)
        await chat.customer(f"question from {user}?")
        await chat.bot("Sorry, I don't know.", kind="dont_know")
        await chat.agent(f"answer for {user}")
        await service.scanner.scan()

    found = await service.candidates.find(CandidateStatus.PENDING)
    assert [c.answer for c in found] == ["answer for u1", "answer for u2", "answer for u3"]


FAQ_CITATION = {"kind": "faq", "doc_id": "returns-window-zh", "title": "支持7天无理由退货吗？"}


async def test_a_thumbs_up_on_an_faq_answer_to_other_words_is_a_rephrasing_candidate(
    service: FeedbackService, store: ConversationStore, clock: Clock
) -> None:
    chat = Chat(store, clock, "carl")
    await chat.customer("买了五天了不喜欢还能退不")
    answer = await chat.bot("支持。自签收之日起7天内……", citations=[FAQ_CITATION])
    await chat.rate(answer, "up")

    await service.scanner.scan()

    [candidate] = await service.candidates.find()
    assert (candidate.trigger, candidate.faq_id) == ("rephrasing", "returns-window-zh")
    assert candidate.question == "买了五天了不喜欢还能退不"


async def test_no_rephrasing_for_the_entry_s_own_question_or_a_document_passage(
    service: FeedbackService, store: ConversationStore, clock: Clock
) -> None:
    chat = Chat(store, clock, "dina")
    await chat.customer("支持7天无理由退货吗")
    own = await chat.bot("支持。", citations=[FAQ_CITATION])
    await chat.rate(own, "up")
    await chat.customer("退货运费谁出")
    doc = {"kind": "doc", "doc_id": "returns.md", "title": "退货政策"}
    passage = await chat.bot("质量问题的运费由我们承担。", kind="passage", citations=[doc])
    await chat.rate(passage, "up")

    await service.scanner.scan()

    assert await service.candidates.find() == []
