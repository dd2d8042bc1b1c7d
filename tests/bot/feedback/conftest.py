"""Feedback fixtures: a migrated SQLite database, a store on a hand-moved clock, and a
FeedbackService whose knowledge base records the FAQ entries it is given."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.feedback.service import FeedbackService
from core.config.feedback import FeedbackSettings
from core.storage import ConversationStore, Database

ADMIN_TOKEN = "s3cret-admin-token"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class FaqBook:
    """Stands in for ``KnowledgeBase.add_faq`` and ``add_alternative``: keeps what was added,
    or fails on demand."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[str, str]] = {}
        self.alternatives: list[tuple[str, str, str]] = []
        self.fail_with: Exception | None = None

    def add_faq(self, question: str, answer: str) -> str:
        if self.fail_with is not None:
            raise self.fail_with
        faq_id = f"added-{len(self.entries) + 1}"
        self.entries[faq_id] = (question, answer)
        return faq_id

    def add_alternative(self, entry: str, phrasing: str, origin: str) -> str:
        if self.fail_with is not None:
            raise self.fail_with
        self.alternatives.append((entry, phrasing, origin))
        return entry


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'kefu.db'}")
    await database.upgrade()
    yield database
    await database.dispose()


@pytest.fixture
def store(database: Database, clock: Clock) -> ConversationStore:
    return ConversationStore(database, clock=clock)


@pytest.fixture
def faqs() -> FaqBook:
    return FaqBook()


@pytest.fixture
def feedback_settings() -> FeedbackSettings:
    return FeedbackSettings(admin_token=SecretStr(ADMIN_TOKEN))


@pytest.fixture
def service(
    feedback_settings: FeedbackSettings,
    store: ConversationStore,
    database: Database,
    faqs: FaqBook,
    clock: Clock,
) -> FeedbackService:
    return FeedbackService(
        feedback_settings,
        store,
        database,
        faqs.add_faq,
        add_alternative=faqs.add_alternative,
        clock=clock,
    )
