"""Training examples from what the support team already judged good.

Three sources: approved candidate gold answers, agent corrections still waiting for review
(pending candidates; rejected ones never), and bot answers the customer rated 👍. Every
example keeps the earlier turns of its visit as context, is redacted, and duplicates (same
normalised question and answer) are dropped, keeping the most trusted source.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from bot.feedback.candidates import Candidate
from bot.feedback.clustering import normalise
from bot.feedback.models import CandidateStatus
from bot.feedback.redact import redact
from bot.feedback.transcript import (
    context_before,
    is_knowledge_answer,
    latest_ratings,
    question_of_replies,
)
from core.storage import ConversationRecord, EventRecord
from core.text import detect_language

SOURCE_PRIORITY = ("approved", "agent_correction", "rated_up")


@dataclass(slots=True, frozen=True)
class Example:
    """One question and its gold answer, with earlier turns as ``{"role", "content"}``."""

    source: str
    question: str
    answer: str
    asked_at: datetime
    context: list[dict[str, Any]] = field(default_factory=list)
    language: str = "en"
    customer_name: str | None = None


@dataclass(slots=True)
class Collected:
    """Examples ready to split, and what preparing them removed."""

    examples: list[Example]
    redactions: Counter[str] = field(default_factory=Counter)
    duplicates_removed: int = 0


def from_candidates(
    candidates: Iterable[Candidate],
    names: dict[str, str | None],
    *,
    include_pending: bool = True,
) -> list[Example]:
    """Approved candidates, and pending ones as agent corrections; never rejected ones.

    Args:
        candidates: stored candidates.
        names: display names by conversation key, for redaction.
        include_pending: also use corrections nobody reviewed yet.
    """
    examples = []
    for candidate in candidates:
        if candidate.status is CandidateStatus.REJECTED:
            continue
        if candidate.status is CandidateStatus.PENDING and not include_pending:
            continue
        source = "approved" if candidate.status is CandidateStatus.APPROVED else "agent_correction"
        examples.append(
            Example(
                source=source,
                question=candidate.question,
                answer=candidate.answer,
                asked_at=candidate.asked_at,
                context=list(candidate.context),
                language=candidate.language,
                customer_name=names.get(candidate.conversation_key),
            )
        )
    return examples


def from_ratings(
    conversation: ConversationRecord,
    events: Sequence[EventRecord],
    *,
    context_turns: int,
    context_gap: timedelta,
) -> list[Example]:
    """Knowledge answers whose final rating is 👍, with their questions."""
    questions = question_of_replies(events)
    replies = {event.id: event for event in events}
    examples = []
    for reply_id, rating in latest_ratings(events).items():
        reply = replies.get(reply_id)
        if rating.rating != "up" or reply is None or not is_knowledge_answer(reply):
            continue
        index = questions.get(reply_id)
        if index is None or not (reply.text or "").strip():
            continue
        question = events[index]
        examples.append(
            Example(
                source="rated_up",
                question=(question.text or "").strip(),
                answer=(reply.text or "").strip(),
                asked_at=question.created_at,
                context=context_before(events, index, turns=context_turns, gap=context_gap),
                language=detect_language(question.text or ""),
                customer_name=conversation.display_name,
            )
        )
    return examples


def prepare(examples: Iterable[Example]) -> Collected:
    """Redacts every example and drops duplicates, keeping the most trusted source first."""
    ranked = sorted(
        examples, key=lambda e: (SOURCE_PRIORITY.index(e.source), e.asked_at, e.question)
    )
    collected = Collected([])
    seen: set[tuple[str, str]] = set()
    for example in ranked:
        clean = redact_example(example, collected.redactions)
        key = (normalise(clean.question), normalise(clean.answer))
        if key in seen:
            collected.duplicates_removed += 1
            continue
        seen.add(key)
        collected.examples.append(clean)
    return collected


def redact_example(example: Example, counts: Counter[str]) -> Example:
    """The example with personal data replaced in every turn; ``counts`` is updated."""
    texts = [turn["content"] for turn in example.context] + [example.question, example.answer]
    names = [example.customer_name] if example.customer_name else []
    result = redact(texts, names=names)
    counts.update(result.counts)
    *context, question, answer = result.texts
    turns = [
        {"role": turn["role"], "content": text}
        for turn, text in zip(example.context, context, strict=True)
    ]
    return replace(example, question=question, answer=answer, context=turns, customer_name=None)
