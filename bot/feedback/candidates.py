"""Candidate gold answers: derived from the event log, stored for review.

When a human agent answers a question that the bot could not answer (``dont_know``) or that
the customer rated 👎, the pair (customer question, agent answer) becomes a candidate. It is
derived from the log, not from the handoff code, so it works whatever wrote the agent's reply.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import structlog
from sqlalchemy import CursorResult, Executable, Table, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.feedback.models import CandidateStatus, GoldCandidate, ScanCursor
from bot.feedback.transcript import (
    KNOWLEDGE_ANSWERS,
    answer_kind,
    context_before,
    is_question,
)
from core.events import AnswerKind, EventKind
from core.storage import ConversationRecord, ConversationStore, Database, EventRecord
from core.storage.db import storage_errors
from core.storage.models import Conversation, Event
from core.text import detect_language
from core.types import ConversationKey, utcnow
from knowledge.loaders.faq import question_key

log = structlog.get_logger(__name__)

SCAN_CURSOR = "gold_candidates"
RESCAN_WINDOW = timedelta(minutes=5)
"""Events committed out of id order (PostgreSQL sequences) are caught by re-reading this
recent stretch of the log on every scan; derivation is idempotent, so re-reading is harmless."""


@dataclass(slots=True, frozen=True)
class CandidateDraft:
    """A candidate as derived from one conversation's log, before it is stored."""

    conversation: ConversationRecord
    question_event: EventRecord
    answer_event_id: int
    trigger: str
    question: str
    answer: str
    context: list[dict[str, Any]] = field(default_factory=list)
    faq_id: str | None = None
    """For a 👍-confirmed rephrasing: the FAQ entry the rated answer came from."""


@dataclass(slots=True, frozen=True)
class Candidate:
    """A stored candidate gold answer."""

    id: int
    conversation_key: str
    question_event_id: int
    trigger: str
    question: str
    answer: str
    context: list[dict[str, Any]]
    language: str
    status: CandidateStatus
    reason: str | None
    reviewer: str | None
    faq_id: str | None
    asked_at: datetime
    created_at: datetime
    reviewed_at: datetime | None


@dataclass
class _Open:
    question: int
    trigger: str


def derive_candidates(
    conversation: ConversationRecord,
    events: Sequence[EventRecord],
    *,
    context_turns: int = 4,
    context_gap: timedelta = timedelta(minutes=30),
) -> list[CandidateDraft]:
    """The candidates one conversation's log holds, oldest first.

    A question is "open" once the bot said it does not know or the customer rated its answer
    👎; the agent messages that follow (until the customer writes again) are its answer. A
    later knowledge answer closes an open question; hand-off replies and slot prompts do not.

    A 👍 on an answer from an FAQ entry, to a question worded otherwise than the entry, makes
    a ``rephrasing`` candidate: approved, the customer's wording becomes an alternative of
    that entry (相似问).
    """
    drafts: list[CandidateDraft] = []
    reply_question: dict[int, int] = {}
    replies: dict[int, EventRecord] = {}
    open_question: _Open | None = None
    last_question: int | None = None
    collecting: list[str] | None = None
    collecting_for: tuple[_Open, int] | None = None

    def finish() -> None:
        if collecting and collecting_for is not None:
            opened, answer_id = collecting_for
            question = events[opened.question]
            drafts.append(
                CandidateDraft(
                    conversation=conversation,
                    question_event=question,
                    answer_event_id=answer_id,
                    trigger=opened.trigger,
                    question=(question.text or "").strip(),
                    answer="\n".join(collecting),
                    context=context_before(
                        events, opened.question, turns=context_turns, gap=context_gap
                    ),
                )
            )

    for index, event in enumerate(events):
        if event.kind == EventKind.USER_MESSAGE and is_question(events, index):
            finish()
            collecting, collecting_for = None, None
            last_question = index
        elif event.kind == EventKind.BOT_REPLY and last_question is not None:
            reply_question[event.id] = last_question
            replies[event.id] = event
            kind = answer_kind(event)
            if kind == AnswerKind.DONT_KNOW:
                open_question = _Open(last_question, "dont_know")
            elif kind in KNOWLEDGE_ANSWERS:
                open_question = None
            last_question = None
        elif event.kind == EventKind.FEEDBACK:
            reply_id = event.payload.get("reply_event_id", -1)
            rated = reply_question.get(reply_id)
            if event.payload.get("rating") == "up":
                rephrasing = rephrasing_draft(conversation, events, rated, replies.get(reply_id))
                drafts.extend([rephrasing] if rephrasing else [])
            if rated is not None and event.payload.get("rating") == "down":
                open_question = _Open(rated, "down")
            elif rated is not None and open_question == _Open(rated, "down"):
                open_question = None  # the 👎 was changed to 👍
        elif event.kind == EventKind.AGENT_MESSAGE and (event.text or "").strip():
            if collecting is not None:
                collecting.append(event.text.strip())  # type: ignore[union-attr]
            elif open_question is not None:
                collecting, collecting_for = [event.text.strip()], (open_question, event.id)  # type: ignore[union-attr]
                open_question = None
    finish()
    return drafts


REPHRASING = "rephrasing"
"""The trigger of a candidate made by a 👍 on an FAQ answer to a question worded otherwise."""


def rephrasing_draft(
    conversation: ConversationRecord,
    events: Sequence[EventRecord],
    question_index: int | None,
    reply: EventRecord | None,
) -> CandidateDraft | None:
    """The rephrasing candidate a 👍 on ``reply`` makes, if the reply came from an FAQ entry
    and the customer asked in words other than the entry's question."""
    if question_index is None or reply is None or answer_kind(reply) not in KNOWLEDGE_ANSWERS:
        return None
    citations = reply.payload.get("citations") or []
    first = citations[0] if citations and isinstance(citations[0], dict) else {}
    faq_id = first.get("doc_id")
    question = (events[question_index].text or "").strip()
    if first.get("kind") != "faq" or not faq_id or not question:
        return None
    if question_key(question) == question_key(str(first.get("title") or "")):
        return None
    return CandidateDraft(
        conversation=conversation,
        question_event=events[question_index],
        answer_event_id=reply.id,
        trigger=REPHRASING,
        question=question,
        answer=(reply.text or "").strip(),
        faq_id=str(faq_id),
    )


class CandidateStore:
    """Candidates in the ``gold_candidates`` table.

    Args:
        database: migrated with ``0004_feedback``.
        clock: the current time (timezone-aware); injectable for tests.

    Every method raises :class:`core.errors.StorageError` when the database fails.
    """

    def __init__(self, database: Database, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._db = database
        self._clock = clock

    @property
    def database(self) -> Database:
        return self._db

    async def save_drafts(self, drafts: Sequence[CandidateDraft]) -> int:
        """Stores new drafts; a pending candidate whose answer grew is updated.

        Safe when several workers save the same draft at once: the question's event id is
        unique, and a second insert is ignored.

        Returns:
            How many candidates are new.
        """
        created = 0
        now = self._clock()
        with storage_errors("save gold candidates"):
            async with self._db.sessions() as session, session.begin():
                for draft in drafts:
                    result = await session.execute(self._insert_ignore(_new_row(draft, now)))
                    if cast(CursorResult[Any], result).rowcount == 1:
                        created += 1
                        continue
                    await session.execute(
                        update(GoldCandidate)
                        .where(
                            GoldCandidate.question_event_id == draft.question_event.id,
                            GoldCandidate.status == CandidateStatus.PENDING.value,
                            GoldCandidate.answer != draft.answer,
                        )
                        .values(answer=draft.answer, updated_at=now)
                    )
        return created

    def _insert_ignore(self, values: dict[str, Any]) -> Executable:
        table = cast(Table, GoldCandidate.__table__)
        if self._db.url.get_backend_name() == "postgresql":
            return postgresql.insert(table).values(**values).on_conflict_do_nothing()
        return sqlite.insert(table).values(**values).on_conflict_do_nothing()

    async def find(
        self, status: CandidateStatus | None = None, *, limit: int | None = None
    ) -> list[Candidate]:
        """Candidates, oldest first; only those with ``status`` when given."""
        query = select(GoldCandidate).order_by(GoldCandidate.id)
        if status is not None:
            query = query.where(GoldCandidate.status == status.value)
        if limit is not None:
            query = query.limit(limit)
        with storage_errors("list gold candidates"):
            async with self._db.sessions() as session:
                rows = (await session.scalars(query)).all()
        return [_record(row) for row in rows]

    async def get(self, candidate_id: int) -> Candidate | None:
        with storage_errors("load a gold candidate"):
            async with self._db.sessions() as session:
                row = await session.get(GoldCandidate, candidate_id)
        return None if row is None else _record(row)

    async def review(
        self, candidate_id: int, status: CandidateStatus, reviewer: str, **values: Any
    ) -> Candidate | None:
        """Moves a pending candidate to ``status``; None when it is missing or not pending.

        Two reviewers acting at once cannot both succeed: the update only matches a pending row.
        """
        now = self._clock()
        query = (
            update(GoldCandidate)
            .where(GoldCandidate.id == candidate_id, GoldCandidate.status == "pending")
            .values(status=status.value, reviewer=reviewer, reviewed_at=now, updated_at=now)
            .values(**values)
            .returning(GoldCandidate)
        )
        with storage_errors("review a gold candidate"):
            async with self._db.sessions() as session, session.begin():
                row = (await session.scalars(query)).one_or_none()
                return None if row is None else _record(row)

    async def update(self, candidate_id: int, **values: Any) -> None:
        """Sets columns of one candidate (e.g. the FAQ id once the entry exists)."""
        query = update(GoldCandidate).where(GoldCandidate.id == candidate_id).values(**values)
        with storage_errors("update a gold candidate"):
            async with self._db.sessions() as session, session.begin():
                await session.execute(query.values(updated_at=self._clock()))


class CandidateScanner:
    """Reads the event log since its last scan and stores the candidates it finds.

    Idempotent: scanning again, or from several workers, never duplicates a candidate.
    """

    def __init__(
        self,
        store: ConversationStore,
        database: Database,
        candidates: CandidateStore,
        *,
        context_turns: int = 4,
        context_gap: timedelta = timedelta(minutes=30),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._store = store
        self._db = database
        self._candidates = candidates
        self._context_turns = context_turns
        self._context_gap = context_gap
        self._clock = clock

    async def scan(self) -> int:
        """Derives candidates from conversations with new agent messages or ratings.

        Returns:
            How many new candidates were stored.
        """
        cursor = await self._cursor()
        keys, last_id = await self._touched_conversations(cursor)
        created = 0
        for key in keys:
            conversation = await self._store.get(key)
            if conversation is None:
                continue
            drafts = derive_candidates(
                conversation,
                await self._store.events(key),
                context_turns=self._context_turns,
                context_gap=self._context_gap,
            )
            created += await self._candidates.save_drafts(drafts)
        if last_id > cursor:
            await self._save_cursor(last_id)
        if created:
            log.info("feedback.candidates.found", created=created, conversations=len(keys))
        return created

    async def _touched_conversations(self, cursor: int) -> tuple[list[ConversationKey], int]:
        recent = self._clock() - RESCAN_WINDOW
        query = (
            select(Conversation.key, func.max(Event.id))
            .join(Event, Event.conversation_id == Conversation.id)
            .where(
                Event.kind.in_([EventKind.AGENT_MESSAGE.value, EventKind.FEEDBACK.value]),
                or_(Event.id > cursor, Event.created_at >= recent),
            )
            .group_by(Conversation.key)
        )
        with storage_errors("find conversations with new agent messages"):
            async with self._db.sessions() as session:
                rows = (await session.execute(query)).all()
        last = max((int(row[1]) for row in rows), default=cursor)
        return [ConversationKey.parse(row[0]) for row in rows], last

    async def _cursor(self) -> int:
        with storage_errors("read the scan cursor"):
            async with self._db.sessions() as session:
                row = await session.get(ScanCursor, SCAN_CURSOR)
        return 0 if row is None else row.last_event_id

    async def _save_cursor(self, last_id: int) -> None:
        with storage_errors("save the scan cursor"):
            async with self._db.sessions() as session, session.begin():
                row = await session.get(ScanCursor, SCAN_CURSOR, with_for_update=True)
                if row is None:
                    session.add(ScanCursor(name=SCAN_CURSOR, last_event_id=last_id))
                else:
                    row.last_event_id = max(row.last_event_id, last_id)


def _new_row(draft: CandidateDraft, now: datetime) -> dict[str, Any]:
    return dict(
        conversation_id=draft.conversation.id,
        conversation_key=draft.conversation.key.as_str(),
        question_event_id=draft.question_event.id,
        answer_event_id=draft.answer_event_id,
        trigger=draft.trigger,
        question=draft.question,
        answer=draft.answer,
        context=draft.context,
        faq_id=draft.faq_id,
        language=detect_language(draft.question),
        status=CandidateStatus.PENDING.value,
        asked_at=draft.question_event.created_at,
        created_at=now,
        updated_at=now,
    )


def _record(row: GoldCandidate) -> Candidate:
    return Candidate(
        id=row.id,
        conversation_key=row.conversation_key,
        question_event_id=row.question_event_id,
        trigger=row.trigger,
        question=row.question,
        answer=row.answer,
        context=list(row.context or []),
        language=row.language,
        status=CandidateStatus(row.status),
        reason=row.reason,
        reviewer=row.reviewer,
        faq_id=row.faq_id,
        asked_at=row.asked_at,
        created_at=row.created_at,
        reviewed_at=row.reviewed_at,
    )
