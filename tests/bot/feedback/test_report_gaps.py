"""Knowledge gaps in ``kefu report`` leave out questions answered since: approved into the FAQ,
or answered from the knowledge base when asked again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.feedback.analytics import compute_report
from core.events import EventKind
from core.storage import ConversationRecord, EventRecord
from core.types import ConversationKey

START = datetime(2026, 3, 1, 9, tzinfo=UTC)


class Log:
    def __init__(self) -> None:
        self.rows: list[tuple[ConversationRecord, EventRecord]] = []
        self.conversation = ConversationRecord(
            id=1,
            key=ConversationKey("rest", "ann", "ann"),
            status="bot",
            state={},
            created_at=START,
            updated_at=START,
        )

    def add(self, kind: EventKind, text: str, answer_kind: str | None = None) -> int:
        event_id = len(self.rows) + 1
        payload = {"answer_kind": answer_kind} if answer_kind else {}
        event = EventRecord(
            id=event_id,
            conversation_id=1,
            kind=kind,
            text=text,
            payload=payload,
            created_at=START + timedelta(minutes=event_id),
        )
        self.rows.append((self.conversation, event))
        return event_id

    def asked(self, question: str, answer_kind: str) -> int:
        question_id = self.add(EventKind.USER_MESSAGE, question)
        self.add(EventKind.BOT_REPLY, "…", answer_kind)
        return question_id


def gaps(log: Log, **options: object) -> list[str]:
    report = compute_report(log.rows, **options)  # type: ignore[arg-type]
    return sorted(group.example for group in report.gaps)


def test_a_question_answered_when_asked_again_is_no_longer_a_gap() -> None:
    log = Log()
    log.asked("Can I pay with bitcoin?", "dont_know")
    log.asked("Do you ship to Mars?", "dont_know")
    log.asked("can I pay with Bitcoin", "faq")  # an FAQ was added in between
    assert gaps(log) == ["Do you ship to Mars?"]


def test_approved_questions_are_not_gaps() -> None:
    log = Log()
    bitcoin = log.asked("Can I pay with bitcoin?", "dont_know")
    log.asked("Do you ship to Mars?", "dont_know")
    assert gaps(log, answered_events=[bitcoin]) == ["Do you ship to Mars?"]
    assert gaps(log, answered=["Do you ship to Mars"]) == ["Can I pay with bitcoin?"]
