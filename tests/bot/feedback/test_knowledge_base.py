"""Approving a candidate makes its answer live in the real knowledge base at once."""

from __future__ import annotations

from typing import Any

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
