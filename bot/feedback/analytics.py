"""Support analytics from the event log: volume, resolution, handoffs, satisfaction, gaps.

Everything is computed from :meth:`ConversationStore.all_events`, so the report describes what
customers and agents actually did, whichever channel or room wrote the events.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from bot.feedback.clustering import Embed, group_similar
from bot.feedback.redact import redact
from bot.feedback.transcript import (
    KNOWLEDGE_ANSWERS,
    answer_kind,
    latest_ratings,
    question_of_replies,
)
from core.events import AnswerKind, EventKind
from core.storage import ConversationRecord, ConversationStore, EventRecord
from knowledge.loaders.faq import question_key

RESOLVING_ANSWERS = frozenset(
    {
        AnswerKind.FAQ,
        AnswerKind.PASSAGE,
        AnswerKind.GENERATED,
        AnswerKind.TOOL,
        AnswerKind.RECOMMENDATION,
    }
)
FAILED_ANSWERS = frozenset({AnswerKind.DONT_KNOW, AnswerKind.ERROR})
MAX_GAP_QUESTIONS = 2000
"""The most recent unanswered questions that are grouped (clustering is quadratic)."""


@dataclass(slots=True, frozen=True)
class GapGroup:
    """Similar questions the bot could not answer: a gap in the knowledge base."""

    count: int
    example: str
    others: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Report:
    """What happened in support over a period. Shares are in [0, 1]; waits in seconds."""

    since: str | None
    first_event: str | None
    last_event: str | None
    timezone: str
    conversations: int = 0
    per_day: dict[str, int] = field(default_factory=dict)
    per_channel: dict[str, int] = field(default_factory=dict)
    resolved_by_bot: int = 0
    resolved_by_bot_share: float = 0.0
    handoffs: int = 0
    handoff_rate: float = 0.0
    wait_seconds: dict[str, float] = field(default_factory=dict)
    unclaimed_handoffs: int = 0
    csat_count: int = 0
    csat_average: float | None = None
    csat_distribution: dict[str, int] = field(default_factory=dict)
    ratings_up: int = 0
    ratings_down: int = 0
    ratings_up_share: float | None = None
    top_intents: list[tuple[str, int]] = field(default_factory=list)
    unanswered: int = 0
    gaps: list[GapGroup] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["top_intents"] = [{"intent": i, "count": c} for i, c in self.top_intents]
        return data


@dataclass(slots=True)
class _Conversation:
    record: ConversationRecord
    events: list[EventRecord] = field(default_factory=list)


async def build_report(
    store: ConversationStore,
    *,
    since: datetime | None = None,
    zone: tzinfo | None = None,
    top: int = 10,
    gap_distance: float = 0.7,
    embed: Embed | None = None,
    answered: Collection[str] = (),
    answered_events: Collection[int] = (),
) -> Report:
    """The report for events at or after ``since`` (everything when None).

    Args:
        store: the conversation store to read.
        since: start of the period (timezone-aware).
        zone: the time zone days are counted in (UTC when None).
        top: how many intents and gap groups to keep.
        gap_distance: cosine distance under which unanswered questions are grouped.
        embed: turns texts into vectors for grouping; TF-IDF character n-grams when None.
        answered: questions answered since (approved into the FAQ): not gaps any more.
        answered_events: ids of question events answered since (approved candidates).
    """
    rows = await store.all_events(since=since)
    return compute_report(
        rows,
        since=since,
        zone=zone,
        top=top,
        gap_distance=gap_distance,
        embed=embed,
        answered=answered,
        answered_events=answered_events,
    )


def parse_since(value: str | None, zone: tzinfo | None = None) -> datetime | None:
    """``YYYY-MM-DD`` (midnight in ``zone``, UTC by default) or a full ISO timestamp.

    Raises:
        ValueError: if ``value`` is not an ISO date or timestamp.
    """
    if not value:
        return None
    parsed = datetime.fromisoformat(value.strip())
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone or UTC)


def compute_report(
    rows: Sequence[tuple[ConversationRecord, EventRecord]],
    *,
    since: datetime | None = None,
    zone: tzinfo | None = None,
    top: int = 10,
    gap_distance: float = 0.7,
    embed: Embed | None = None,
    answered: Collection[str] = (),
    answered_events: Collection[int] = (),
) -> Report:
    """The report for already loaded events (see :func:`build_report`)."""
    conversations = _by_conversation(rows)
    report = Report(
        since=since.isoformat() if since else None,
        first_event=rows[0][1].created_at.isoformat() if rows else None,
        last_event=rows[-1][1].created_at.isoformat() if rows else None,
        timezone=str(zone) if zone else "UTC",
    )
    active = [c for c in conversations if _has_customer(c)]
    report.conversations = len(active)
    _volume(report, active, zone)
    _resolution(report, active)
    _csat_and_ratings(report, conversations)
    report.top_intents = _intents(conversations).most_common(top)
    closed = {question_key(q) for q in answered} | answered_later(conversations)
    unanswered = [
        q
        for c in conversations
        for q in unanswered_questions(c.events, skip=answered_events)
        if question_key(q) not in closed
    ]
    report.unanswered = len(unanswered)
    report.gaps = gap_groups(unanswered[-MAX_GAP_QUESTIONS:], gap_distance, embed)[:top]
    return report


def _by_conversation(rows: Sequence[tuple[ConversationRecord, EventRecord]]) -> list[_Conversation]:
    grouped: dict[int, _Conversation] = {}
    for record, event in rows:
        grouped.setdefault(record.id, _Conversation(record)).events.append(event)
    return list(grouped.values())


def _has_customer(conversation: _Conversation) -> bool:
    return any(e.kind == EventKind.USER_MESSAGE for e in conversation.events)


def _volume(report: Report, active: Sequence[_Conversation], zone: tzinfo | None) -> None:
    days: Counter[str] = Counter()
    for conversation in active:
        dates = {
            e.created_at.astimezone(zone).date().isoformat()
            for e in conversation.events
            if e.kind == EventKind.USER_MESSAGE
        }
        days.update(dates)
    report.per_day = dict(sorted(days.items()))
    channels = Counter(c.record.key.platform for c in active)
    report.per_channel = dict(channels.most_common())


def _resolution(report: Report, active: Sequence[_Conversation]) -> None:
    waits: list[float] = []
    for conversation in active:
        escalations, claimed_waits = _handoffs(conversation.events)
        if escalations:
            report.handoffs += 1
            report.unclaimed_handoffs += escalations - len(claimed_waits)
            waits.extend(claimed_waits)
        elif _resolved_by_bot(conversation.events):
            report.resolved_by_bot += 1
    if active:
        report.resolved_by_bot_share = report.resolved_by_bot / len(active)
        report.handoff_rate = report.handoffs / len(active)
    if waits:
        ordered = sorted(waits)
        report.wait_seconds = {
            "count": len(ordered),
            "mean": statistics.fmean(ordered),
            "median": statistics.median(ordered),
            "p90": ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))],
            "max": ordered[-1],
        }


def _handoffs(events: Sequence[EventRecord]) -> tuple[int, list[float]]:
    """Escalations in a conversation, and the waits (escalated -> claimed) of those claimed."""
    escalations, waits = 0, []
    waiting_since: datetime | None = None
    for event in events:
        if event.kind != EventKind.HANDOFF:
            continue
        action = event.payload.get("action")
        if action == "escalated":
            escalations += 1
            waiting_since = event.created_at
        elif action == "claimed" and waiting_since is not None:
            waits.append((event.created_at - waiting_since).total_seconds())
            waiting_since = None
        elif action in ("cancelled", "closed"):
            waiting_since = None
    return escalations, waits


def _resolved_by_bot(events: Sequence[EventRecord]) -> bool:
    """No handoff, an answer from knowledge or a tool, the last answer not a failure, and no
    👎 left standing."""
    answers = [
        answer_kind(e)
        for e in events
        if e.kind == EventKind.BOT_REPLY and answer_kind(e) in RESOLVING_ANSWERS | FAILED_ANSWERS
    ]
    if not answers or answers[-1] in FAILED_ANSWERS:
        return False
    return all(r.rating == "up" for r in latest_ratings(events).values())


def _csat_and_ratings(report: Report, conversations: Sequence[_Conversation]) -> None:
    scores = [
        int(e.payload["score"])
        for c in conversations
        for e in c.events
        if e.kind == EventKind.CSAT and isinstance(e.payload.get("score"), int | float)
    ]
    scores = [s for s in scores if 1 <= s <= 5]
    report.csat_count = len(scores)
    report.csat_average = statistics.fmean(scores) if scores else None
    distribution = Counter(scores)
    report.csat_distribution = {str(s): distribution.get(s, 0) for s in range(1, 6)}
    ratings = Counter(r.rating for c in conversations for r in latest_ratings(c.events).values())
    report.ratings_up, report.ratings_down = ratings["up"], ratings["down"]
    total = report.ratings_up + report.ratings_down
    report.ratings_up_share = report.ratings_up / total if total else None


def _intents(conversations: Sequence[_Conversation]) -> Counter[str]:
    """Intents recognised per customer message; the bot reply's intent where no
    UNDERSTANDING event was written for the conversation."""
    counts: Counter[str] = Counter()
    for conversation in conversations:
        understood = [
            e.payload.get("intent")
            for e in conversation.events
            if e.kind == EventKind.UNDERSTANDING
        ]
        if not understood:
            understood = [
                e.payload.get("intent")
                for e in conversation.events
                if e.kind == EventKind.BOT_REPLY
            ]
        counts.update(i for i in understood if isinstance(i, str) and i)
    return counts


def unanswered_questions(events: Sequence[EventRecord], skip: Collection[int] = ()) -> list[str]:
    """Customer questions the bot answered with "I don't know", in log order (question events
    in ``skip`` left out)."""
    questions = question_of_replies(events)
    return [
        (events[questions[e.id]].text or "").strip()
        for e in events
        if e.kind == EventKind.BOT_REPLY
        and answer_kind(e) == AnswerKind.DONT_KNOW
        and e.id in questions
        and events[questions[e.id]].id not in skip
    ]


def answered_later(conversations: Sequence[_Conversation]) -> set[str]:
    """Questions whose latest answer in the log came from the knowledge base: an FAQ added
    since answers them, so they are no longer gaps."""
    replies: list[tuple[datetime, int, str, bool]] = []
    for conversation in conversations:
        events = conversation.events
        by_id = {event.id: event for event in events}
        for reply_id, index in question_of_replies(events).items():
            reply = by_id[reply_id]
            known = answer_kind(reply) in KNOWLEDGE_ANSWERS
            question = question_key((events[index].text or "").strip())
            replies.append((reply.created_at, reply.id, question, known))
    latest: dict[str, bool] = {}
    for _, _, question, known in sorted(replies, key=lambda item: (item[0], item[1])):
        latest[question] = known
    return {question for question, known in latest.items() if known}


def gap_groups(questions: Sequence[str], distance: float, embed: Embed | None) -> list[GapGroup]:
    """Unanswered questions grouped by similarity, biggest group first.

    Each group's example is its most frequent wording; personal data is redacted, since the
    report is read by people who need the gap, not the customer.
    """
    clean = [redact([q]).texts[0] for q in questions if q]
    groups: defaultdict[int, list[str]] = defaultdict(list)
    for question, label in zip(clean, group_similar(clean, distance, embed), strict=True):
        groups[label].append(question)
    result = []
    for members in groups.values():
        wordings = Counter(members).most_common()
        example = wordings[0][0]
        others = [text for text, _ in wordings[1:4]]
        result.append(GapGroup(len(members), example, others))
    return sorted(result, key=lambda g: -g.count)
