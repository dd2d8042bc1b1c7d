"""The review flow on channels: list, approve into the knowledge base, reject with a reason."""

from __future__ import annotations

import re

from bot.feedback.models import CandidateStatus
from bot.feedback.service import FeedbackService
from core.errors import KnowledgeError
from core.events import EventKind
from core.storage import ConversationStore
from core.types import ConversationKey
from tests.bot.feedback.conftest import Clock, FaqBook
from tests.bot.feedback.logs import Chat

ADMIN = ConversationKey("rest", "admin", "admin")


async def unanswered_then_agent(
    store: ConversationStore, clock: Clock, user: str, question: str, answer: str
) -> None:
    chat = Chat(store, clock, user)
    await chat.customer(question)
    await chat.bot("Sorry, I don't know.", kind="dont_know")
    await chat.handoff("escalated")
    await chat.agent(answer)


async def admin_says(service: FeedbackService, text: str) -> str:
    replies = await service.handle_command(ADMIN, text, "en", is_admin=True)
    assert replies is not None
    [reply] = replies
    return reply.text


async def test_review_lists_pending_candidates_with_their_ids(
    service: FeedbackService, store: ConversationStore, clock: Clock
) -> None:
    await unanswered_then_agent(store, clock, "a", "Can I pay with bitcoin?", "No, cards only.")
    await unanswered_then_agent(store, clock, "b", "Do you ship to Macau?", "Yes, in 5 days.")

    text = await admin_says(service, "/feedback review")

    assert "Candidate answers to review (2)" in text
    ids = re.findall(r"^#(\d+) \[dont_know\]", text, re.MULTILINE)
    assert len(ids) == 2
    assert "Q: Can I pay with bitcoin?" in text and "A: No, cards only." in text
    assert "/feedback approve <id>" in text


async def test_review_warns_about_personal_data(
    service: FeedbackService, store: ConversationStore, clock: Clock
) -> None:
    await unanswered_then_agent(
        store, clock, "c", "Where is my order DD20250301?", "Call me on 13812345678."
    )
    text = await admin_says(service, "/feedback review")
    assert "⚠ may contain personal data: order, phone" in text


async def test_approving_adds_the_pair_to_the_knowledge_base(
    service: FeedbackService, store: ConversationStore, clock: Clock, faqs: FaqBook
) -> None:
    await unanswered_then_agent(store, clock, "d", "Can I pay with bitcoin?", "No, cards only.")
    [candidate] = await service.review.pending()

    text = await admin_says(service, f"/feedback approve {candidate.id}")

    assert text.startswith(f"Candidate #{candidate.id} approved")
    assert list(faqs.entries.values()) == [("Can I pay with bitcoin?", "No, cards only.")]
    [stored] = await service.candidates.find()
    assert stored.status is CandidateStatus.APPROVED
    assert stored.faq_id == "added-1" and stored.reviewer == ADMIN.as_str()
    assert await admin_says(service, "/feedback review") == "No candidate answers to review."
    audit = await store.events(ADMIN, kinds=[EventKind.ADMIN_COMMAND])
    assert [e.payload["command"] for e in audit][-2:] == ["feedback approve", "feedback review"]


async def test_a_candidate_is_approved_only_once(
    service: FeedbackService, store: ConversationStore, clock: Clock, faqs: FaqBook
) -> None:
    await unanswered_then_agent(store, clock, "e", "Can I pay with bitcoin?", "No, cards only.")
    [candidate] = await service.review.pending()
    await admin_says(service, f"/feedback approve {candidate.id}")

    again = await admin_says(service, f"/feedback approve {candidate.id}")

    assert again == f"Candidate #{candidate.id} was already reviewed."
    assert len(faqs.entries) == 1


async def test_rejecting_needs_a_reason_and_archives_the_candidate(
    service: FeedbackService, store: ConversationStore, clock: Clock, faqs: FaqBook
) -> None:
    await unanswered_then_agent(store, clock, "f", "Is the shop open on Sunday?", "Ask later.")
    [candidate] = await service.review.pending()

    assert "Please give a reason" in await admin_says(service, f"/feedback reject {candidate.id}")
    text = await admin_says(service, f"/feedback reject {candidate.id} not a real answer")

    assert text == f"Candidate #{candidate.id} rejected and archived."
    [stored] = await service.candidates.find()
    assert (stored.status, stored.reason) == (CandidateStatus.REJECTED, "not a real answer")
    assert faqs.entries == {}


async def test_a_knowledge_base_failure_leaves_the_candidate_pending(
    service: FeedbackService, store: ConversationStore, clock: Clock, faqs: FaqBook
) -> None:
    await unanswered_then_agent(store, clock, "g", "Can I pay with bitcoin?", "No, cards only.")
    [candidate] = await service.review.pending()
    faqs.fail_with = KnowledgeError("vector store is down")

    text = await admin_says(service, f"/feedback approve {candidate.id}")

    assert "stays pending: vector store is down" in text
    [stored] = await service.candidates.find()
    assert stored.status is CandidateStatus.PENDING and stored.reviewer is None
    faqs.fail_with = None
    assert "approved" in await admin_says(service, f"/feedback approve {candidate.id}")


async def test_unknown_ids_and_bad_arguments_get_a_helpful_answer(
    service: FeedbackService,
) -> None:
    assert await admin_says(service, "/feedback approve 999") == "No candidate #999."
    assert "candidate's number" in await admin_says(service, "/feedback approve bitcoin")
    assert "Usage: /feedback up" in await admin_says(service, "/feedback")


async def test_an_agent_answer_can_be_approved_as_another_way_to_ask_an_entry(
    service: FeedbackService, store: ConversationStore, clock: Clock, faqs: FaqBook
) -> None:
    await unanswered_then_agent(store, clock, "e", "u take paypal?", "Yes, PayPal works.")
    [candidate] = await service.review.pending()

    text = await admin_says(service, f"/feedback approve {candidate.id} payment-methods-en")

    assert text.startswith(f"Candidate #{candidate.id} approved")
    assert faqs.entries == {}
    assert faqs.alternatives == [("payment-methods-en", "u take paypal?", "review")]
    [stored] = await service.candidates.find()
    assert stored.faq_id == "payment-methods-en"
