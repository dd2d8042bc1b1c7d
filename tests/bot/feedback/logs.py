"""Writes conversation logs the way the pipeline and the handoff room do, one event at a time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.pipeline import reply_payload
from core.events import EventKind
from core.storage import ConversationStore, EventRecord
from core.types import ConversationKey, OutgoingMessage
from tests.bot.feedback.conftest import Clock


class Chat:
    """One customer's conversation; every call appends events and moves the clock on."""

    def __init__(
        self, store: ConversationStore, clock: Clock, user: str, platform: str = "rest"
    ) -> None:
        self.store = store
        self.clock = clock
        self.key = ConversationKey(platform, user, user)

    async def _append(
        self, kind: EventKind, text: str | None = None, seconds: float = 5, **payload: Any
    ) -> EventRecord:
        self.clock.advance(seconds=seconds)
        return await self.store.append_event(self.key, kind, text=text, payload=payload)

    async def customer(self, text: str, seconds: float = 5) -> EventRecord:
        return await self._append(EventKind.USER_MESSAGE, text, seconds, message_id=text[:20])

    async def bot(
        self,
        text: str,
        kind: str = "faq",
        intent: str | None = None,
        seconds: float = 1,
        citations: Sequence[dict[str, str]] = (),
    ) -> EventRecord:
        return await self._append(
            EventKind.BOT_REPLY,
            text,
            seconds,
            answer_kind=kind,
            intent=intent,
            citations=list(citations),
        )

    async def record(self, replies: Sequence[OutgoingMessage]) -> None:
        """What the pipeline's ``_record_replies`` writes for replies a hook returned."""
        for reply in replies:
            await self._append(EventKind.BOT_REPLY, reply.text, 1, **reply_payload(reply))

    async def understood(self, intent: str) -> EventRecord:
        return await self._append(EventKind.UNDERSTANDING, seconds=0, intent=intent)

    async def rate(self, reply: EventRecord, rating: str, reason: str | None = None) -> None:
        await self._append(
            EventKind.FEEDBACK, rating=rating, reply_event_id=reply.id, reason=reason
        )

    async def handoff(self, action: str, seconds: float = 5, agent: str | None = None) -> None:
        await self._append(EventKind.HANDOFF, seconds=seconds, action=action, agent_id=agent)

    async def agent(self, text: str, seconds: float = 30) -> EventRecord:
        return await self._append(EventKind.AGENT_MESSAGE, text, seconds, agent_id="agent-7")

    async def csat(self, score: int) -> None:
        await self._append(EventKind.CSAT, score=score)
