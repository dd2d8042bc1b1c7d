"""Approving a candidate makes its answer live in the real knowledge base at once."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import Kefu
from bot.feedback.models import CandidateStatus
from bot.feedback.service import FeedbackService
from core.events import EventKind
from core.types import ConversationKey
from tests.bot.conftest import ask

QUESTION = "明天上海会下雨吗？"
AGENT_ANSWER = "我们无法提供天气预报，建议您查看天气应用；发货不受天气影响。"


async def test_an_approved_agent_answer_is_answered_by_the_bot_next_time(
    kefu: Kefu, client: TestClient[Any, Any]
) -> None:
    service = FeedbackService(kefu.settings.feedback, kefu.store, kefu.db, kefu.knowledge.add_faq)
    # What the pipeline and the handoff room write when the bot cannot answer and an agent does.
    key = ConversationKey("rest", "zoe", "zoe")
    await kefu.store.append_event(key, EventKind.USER_MESSAGE, text=QUESTION)
    await kefu.store.append_event(
        key, EventKind.BOT_REPLY, text="抱歉……", payload={"answer_kind": "dont_know"}
    )
    await kefu.store.append_event(
        key, EventKind.AGENT_MESSAGE, text=AGENT_ANSWER, payload={"agent_id": "agent-1"}
    )

    [candidate] = await service.review.pending()
    approved = await service.review.approve(candidate.id, "admin")

    assert approved.status is CandidateStatus.APPROVED and approved.faq_id
    [again] = await ask(client, "yan", QUESTION)
    assert again["text"] == AGENT_ANSWER
    assert again["custom"]["answer_kind"] == "faq"


async def test_a_liked_answer_to_new_wording_becomes_another_way_to_ask_its_faq(
    kefu: Kefu, client: TestClient[Any, Any]
) -> None:
    question = "换货的话签收后几天内还能申请"
    [answer] = await ask(client, "lin", question)
    [citation, *_] = answer["custom"]["citations"]
    assert citation["kind"] == "faq"
    liked = next(b["payload"] for b in answer["buttons"] if b["title"].startswith("👍"))
    await ask(client, "lin", liked)

    [candidate] = await kefu.feedback.review.pending()
    assert candidate.trigger == "rephrasing" and candidate.faq_id == citation["doc_id"]
    approved = await kefu.feedback.review.approve(candidate.id, "admin")

    assert approved.faq_id == citation["doc_id"]
    [best] = kefu.knowledge.hits(question, 1)
    assert best.chunk.doc_id == citation["doc_id"]
    offset = kefu.settings.knowledge.phrasing_offset
    assert best.cosine == pytest.approx(1.0 - offset, abs=1e-3)  # matched as a phrasing now


async def test_an_agent_answer_can_be_approved_as_another_way_to_ask_an_existing_faq(
    kefu: Kefu, client: TestClient[Any, Any]
) -> None:
    key = ConversationKey("rest", "zoe", "zoe")
    wording = "能刷花呗不"
    await kefu.store.append_event(key, EventKind.USER_MESSAGE, text=wording)
    await kefu.store.append_event(
        key, EventKind.BOT_REPLY, text="抱歉……", payload={"answer_kind": "dont_know"}
    )
    await kefu.store.append_event(
        key, EventKind.AGENT_MESSAGE, text="可以用花呗。", payload={"agent_id": "agent-1"}
    )
    [candidate] = await kefu.feedback.review.pending()
    approved = await kefu.feedback.review.approve(
        candidate.id, "admin", alternative_of="payment-methods-zh"
    )

    assert approved.faq_id == "payment-methods-zh"
    [again] = await ask(client, "yan", wording)
    assert again["custom"]["citations"][0]["doc_id"] == "payment-methods-zh"
