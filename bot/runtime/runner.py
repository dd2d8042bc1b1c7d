"""The conversation runner: every adapter hands customer messages to it.

record in the inbox (durable) -> one turn at a time per conversation, in arrival order,
across workers -> the pipeline -> commit the turn (events, outbox rows, "answered") -> tell
the delivery side. Whoever holds a conversation's lock answers every message of it that is
still waiting, oldest first, so a message that reached another worker a moment earlier is
never overtaken, and one whose worker died is answered by the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from bot.runtime.bus import OUTBOX, Bus
from bot.runtime.locks import NamedLocks
from bot.texts import say
from bot.texts.language import language_for
from core.errors import KefuError, StorageError
from core.storage import ConversationStore
from core.storage.inbox import Arrival, InboxEntry, InboxStore, mark_answered
from core.storage.outbox import (
    OutboxEntry,
    OutboxStore,
    add_messages,
    new_reply_id,
    take_pending,
)
from core.storage.turns import turn_scope
from core.types import IncomingMessage, OutgoingMessage, StreamSink, utcnow

log = structlog.get_logger(__name__)

ORPHAN_AFTER = timedelta(seconds=10)
"""A message still unanswered this long after it arrived, with its conversation free, lost
its worker (or was acknowledged just before a shutdown): the sweep answers it."""


class TurnHandler(Protocol):
    """The pipeline as the runner drives it (one message, inside a turn scope)."""

    def __call__(
        self, message: IncomingMessage, *, stream: StreamSink | None = None
    ) -> Awaitable[Sequence[OutgoingMessage]]: ...


class ShuttingDown(KefuError):
    """The worker is draining and takes no new messages (the platform retries elsewhere)."""


class ConversationRunner:
    """Answers messages exactly once, in order, whichever worker they reach.

    Args:
        inbox: where arrivals are recorded.
        outbox: where replies wait for delivery.
        store: the conversation store (its turn buffers are committed here).
        answer: the pipeline.
        locks: one holder per conversation, across workers.
        bus: tells every worker that a conversation has new outbox messages.
        rate_limit_per_minute: messages per customer per minute (0: no limit).
        max_concurrent_turns: turns this worker runs at once (each may hold a connection).
    """

    def __init__(
        self,
        inbox: InboxStore,
        outbox: OutboxStore,
        store: ConversationStore,
        answer: TurnHandler,
        locks: NamedLocks,
        bus: Bus,
        *,
        rate_limit_per_minute: int,
        max_concurrent_turns: int = 16,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._inbox = inbox
        self._outbox = outbox
        self._store = store
        self._answer = answer
        self._locks = locks
        self._bus = bus
        self._rate = rate_limit_per_minute
        self._turns = asyncio.Semaphore(max_concurrent_turns)
        self._clock = clock
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._background: set[asyncio.Task[None]] = set()
        self.accepting = True

    async def handle(
        self,
        message: IncomingMessage,
        *,
        stream: StreamSink | None = None,
        take_waiting: bool = True,
    ) -> list[OutboxEntry]:
        """Records and answers ``message`` and returns what the caller hands over at once
        (REST, web chat, console, Discord commands), oldest first: its replies and, with
        ``take_waiting``, the conversation's other waiting messages (an agent's reply). They
        are marked sent. A redelivered message that was answered gets the replies stored then.

        Raises:
            ShuttingDown: the worker is draining.
            StorageError: the database failed; the message may not be recorded.
        """
        async with self._work():
            arrival = await self._record(message)
            if not arrival.entry.answered:
                handed = await self._answer_up_to(
                    arrival, stream, hand_over=True, take_waiting=take_waiting
                )
                if handed is not None:
                    return handed
            # Answered before (a retry), or just now by the worker that held the conversation.
            replies = await self._outbox.for_inbox(arrival.entry.id)
            waiting = await self._outbox.take(message.key) if take_waiting else []
            unique = {entry.id: entry for entry in [*replies, *waiting]}
            return [unique[i] for i in sorted(unique)]

    async def accept(self, message: IncomingMessage, *, stream: StreamSink | None = None) -> None:
        """Records ``message`` durably and answers it in the background; for platforms that
        want a quick acknowledgement (webhooks) and get replies through the outbox.

        Raises:
            ShuttingDown: the worker is draining (answer the webhook with 503).
            StorageError: the message could not be recorded (answer with 5xx so the platform
                delivers it again).
        """
        async with self._work():
            arrival = await self._record(message)
        if not arrival.entry.answered:
            self._spawn(self._answer_in_background(arrival, stream))

    async def answer_orphans(self) -> int:
        """Answers messages whose worker died (their conversation is free); returns how
        many conversations were taken up."""
        if not self.accepting:
            return 0
        keys = await self._inbox.waiting_conversations(
            received_before=self._clock() - ORPHAN_AFTER, limit=50
        )
        taken = 0
        for key in keys:
            async with self._work(), self._turns, self._locks.try_hold(key) as mine:
                if mine:
                    taken += 1
                    log.info("runtime.orphans.answering", conversation=key)
                    for entry in await self._inbox.unanswered(key, up_to=None):
                        await self._turn(entry, None, limited=False, hand_over=False)
        return taken

    async def drain(self, timeout: float) -> bool:
        """Stops taking messages and waits for the turns in flight; True if all finished."""
        self.accepting = False
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            log.warning("runtime.drain.unfinished", turns=self._in_flight)
            return False
        return True

    async def _record(self, message: IncomingMessage) -> Arrival:
        rate_name = f"{message.key.platform}:{message.key.user_id}" if self._rate > 0 else None
        arrival = await self._inbox.record(message, rate_name=rate_name)
        if not arrival.first_time:
            log.info(
                "runtime.inbox.redelivered",
                message_id=message.message_id,
                answered=arrival.entry.answered,
            )
        return arrival

    async def _answer_in_background(self, arrival: Arrival, stream: StreamSink | None) -> None:
        try:
            async with self._work(allow_draining=True):
                await self._answer_up_to(arrival, stream, hand_over=False)
        except StorageError:
            # Still "received": the orphan sweep answers it when the database is back.
            log.exception("runtime.turn.not_committed", message_id=arrival.entry.message.message_id)

    async def _answer_up_to(
        self,
        arrival: Arrival,
        stream: StreamSink | None,
        *,
        hand_over: bool,
        take_waiting: bool = False,
    ) -> list[OutboxEntry] | None:
        """Answers the conversation's waiting messages up to this one, in order; returns
        what was handed over for this one (None if another worker answered it)."""
        entry = arrival.entry
        limited = 0 < self._rate < arrival.hits_this_minute
        key = entry.message.key.as_str()
        handed = None
        async with self._turns, self._locks.hold(key):
            for waiting in await self._inbox.unanswered(key, up_to=entry.id):
                mine = waiting.id == entry.id
                result = await self._turn(
                    waiting,
                    stream if mine else None,
                    limited=mine and limited,
                    hand_over=mine and hand_over,
                    take_waiting=mine and take_waiting,
                )
                handed = result if mine else handed
        return handed

    async def _turn(
        self,
        entry: InboxEntry,
        stream: StreamSink | None,
        *,
        limited: bool,
        hand_over: bool,
        take_waiting: bool = False,
    ) -> list[OutboxEntry]:
        """One turn, committed at once: events, replies (handed over or pending), the
        inbox mark and, for a pull channel, the conversation's waiting messages."""
        message = entry.message
        handed: list[OutboxEntry] = []
        with turn_scope(message.key) as buffer:
            replies = [
                _addressed(r, message) for r in await self._replies(message, stream, limited)
            ]

            async def finish(session: AsyncSession, now: datetime) -> None:
                waiting = await take_pending(session, message.key, now) if take_waiting else []
                stored = await add_messages(
                    session, message.key, replies, "bot", entry.id, now, handed_over=hand_over
                )
                await mark_answered(session, entry.id, now)
                handed.extend([*waiting, *stored])

            try:
                await self._store.commit_turn(buffer, finish)
            finally:
                buffer.closed = True
        if not hand_over:
            await self._bus.publish(OUTBOX, {"key": message.key.as_str()})
        return handed

    async def _replies(
        self, message: IncomingMessage, stream: StreamSink | None, limited: bool
    ) -> Sequence[OutgoingMessage]:
        language = language_for(message)
        if limited:
            log.info("runtime.rate_limited", conversation=message.key.as_str())
            return [
                OutgoingMessage(
                    say("chat.rate_limited", language), custom={"answer_kind": "refusal"}
                )
            ]
        try:
            return await self._answer(message, stream=stream)
        except StorageError:
            raise
        except Exception:  # the pipeline apologises itself; this is the last line
            log.exception("runtime.turn.failed", conversation=message.key.as_str())
            return [OutgoingMessage(say("chat.error", language), custom={"answer_kind": "error"})]

    @contextlib.asynccontextmanager
    async def _work(self, *, allow_draining: bool = False) -> AsyncIterator[None]:
        if not self.accepting and not allow_draining:
            raise ShuttingDown("this worker is shutting down")
        self._in_flight += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._in_flight -= 1
            if self._in_flight == 0 and not self._background:
                self._idle.set()

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
        self._background.add(task)
        self._idle.clear()

        def done(finished: asyncio.Task[None]) -> None:
            self._background.discard(finished)
            if self._in_flight == 0 and not self._background:
                self._idle.set()

        task.add_done_callback(done)


def _addressed(reply: OutgoingMessage, message: IncomingMessage) -> OutgoingMessage:
    """The reply with its id (feedback buttons and receipts refer to it) and the message it
    answers (Telegram threads replies in groups)."""
    reply_id = str(reply.custom.get("reply_id") or new_reply_id())
    # An adapter may say which message (if any) replies should refer to; by default the
    # message itself.
    reply_to = message.raw.get("reply_to", message.message_id)
    return dataclasses.replace(
        reply,
        custom={**reply.custom, "reply_id": reply_id},
        reply_to=str(reply_to) if reply_to is not None else None,
    )
