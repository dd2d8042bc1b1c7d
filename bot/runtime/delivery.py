"""Delivery: sends what waits in the outbox through each platform's adapter.

Push platforms (Telegram, Discord, WeCom) are sent to by whichever worker holds the
conversation's delivery lock, oldest message first; a transient failure (network, 5xx,
busy, flood control) is retried with backoff until ``retry_window`` has passed, then the
message is marked failed and the failure is logged in the conversation, where agents see it.
Pull channels (REST, web chat, console) take their messages themselves; the web chat is
also pushed to live by the worker that holds the customer's socket.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog

from bot.runtime.bus import AGENTS, OUTBOX, Bus, Note
from bot.runtime.locks import NamedLocks
from core.errors import NotConnected, StorageError, TransientDeliveryError
from core.storage.outbox import EventToRecord, OutboxEntry, OutboxStore
from core.storage.records import EventRecord
from core.types import ConversationKey, OutgoingMessage, utcnow

log = structlog.get_logger(__name__)

_FIRST_RETRY_S = 0.5
_MAX_RETRY_S = 30.0


class Sender(Protocol):
    """What delivery needs of an adapter."""

    platform: str

    async def send(self, key: ConversationKey, message: OutgoingMessage) -> None: ...


class LiveChannel(Protocol):
    """A pull channel that can also push to customers connected to this worker."""

    async def push_pending(self, key: ConversationKey) -> None: ...


class Delivery:
    """Gets outbox messages to customers.

    Args:
        outbox: the durable outbox.
        adapters: the running channels by platform.
        locks: one delivering worker per conversation.
        bus: notes between workers ("new messages for X", agent frames).
        retry_window: how long a message is retried before it is marked failed.
    """

    def __init__(
        self,
        outbox: OutboxStore,
        adapters: Mapping[str, Any],
        locks: NamedLocks,
        bus: Bus,
        *,
        retry_window: timedelta,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._outbox = outbox
        self._adapters = adapters
        self._locks = locks
        self._bus = bus
        self._retry_window = retry_window
        self._clock = clock
        self._retries: set[asyncio.Future[None]] = set()
        self._again: set[str] = set()
        """Conversations whose new messages arrived while this worker was sending theirs;
        another worker's arrive through the bus or the sweep."""
        bus.subscribe(OUTBOX, self._on_note)

    async def enqueue(
        self,
        key: ConversationKey,
        message: OutgoingMessage,
        *,
        source: str = "system",
        record: EventToRecord | None = None,
    ) -> EventRecord | None:
        """Stores a message for ``key`` (with its event-log entry, returned) and has it
        delivered.

        Raises:
            StorageError: it could not be stored; nothing will be sent.
        """
        _, event = await self._outbox.enqueue(key, message, source=source, record=record)
        await self._bus.publish(OUTBOX, {"key": key.as_str()})
        return event

    async def deliver(self, key: ConversationKey) -> None:
        """Sends the conversation's due messages, if this worker can reach its platform."""
        adapter = self._adapters.get(key.platform)
        if adapter is None:
            return
        if getattr(adapter, "delivery", "push") != "push":
            if hasattr(adapter, "push_pending"):
                await adapter.push_pending(key)
            return
        name = key.as_str()
        async with self._locks.try_hold(name) as mine:
            if not mine:  # someone is sending them right now: have them look again
                self._again.add(name)
                return
            while True:
                self._again.discard(name)
                await self._send_due(adapter, key)
                if name not in self._again:
                    return

    async def sweep(self) -> int:
        """Delivers every conversation with a due message on this worker's push platforms;
        returns how many conversations had one."""
        keys = await self._outbox.due_conversations(self._push_platforms())
        for key in keys:
            await self.deliver(ConversationKey.parse(key))
        return len(keys)

    async def flush(self, seconds: float) -> bool:
        """Keeps delivering (retries included) until nothing is pending on this worker's push
        platforms or ``seconds`` have passed (shutdown); True when nothing is left."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            await self.sweep()
            left = await self._outbox.due_conversations(self._push_platforms(), due_only=False)
            if not left:
                return True
            if loop.time() >= deadline:
                log.warning("delivery.flush.unfinished", conversations=len(left))
                return False
            await asyncio.sleep(0.1)

    def _push_platforms(self) -> list[str]:
        return [p for p, a in self._adapters.items() if getattr(a, "delivery", "push") == "push"]

    async def _on_note(self, note: Note) -> None:
        try:
            key = ConversationKey.parse(str(note["key"]))
        except (KeyError, ValueError):
            return
        try:
            await self.deliver(key)
        except StorageError:
            log.warning("delivery.storage_unavailable", conversation=key.as_str())

    async def _send_due(self, adapter: Sender, key: ConversationKey) -> None:
        for entry in await self._outbox.pending(key):
            if entry.next_attempt_at > self._clock():
                return  # an earlier message waits for its retry: keep the order
            if not await self._send_one(adapter, entry):
                return

    async def _send_one(self, adapter: Sender, entry: OutboxEntry) -> bool:
        """Sends one message; False when later messages must wait."""
        try:
            await adapter.send(entry.key, entry.message)
        except NotConnected:
            return False
        except TransientDeliveryError as e:
            return await self._transient(entry, e)
        except Exception as e:
            log.warning("delivery.refused", conversation=entry.key.as_str(), error=type(e).__name__)
            await self._give_up(entry, str(e) or type(e).__name__)
            return True  # a message the platform refuses must not block the next ones
        await self._outbox.mark_sent(entry.id)
        log.info("delivery.sent", conversation=entry.key.as_str(), outbox_id=entry.id)
        return True

    async def _transient(self, entry: OutboxEntry, error: TransientDeliveryError) -> bool:
        now = self._clock()
        if now - entry.created_at >= self._retry_window:
            await self._give_up(entry, str(error))
            return True
        wait = error.retry_after or _FIRST_RETRY_S * 2**entry.attempts
        at = now + timedelta(seconds=min(wait, _MAX_RETRY_S))
        await self._outbox.retry_later(entry.id, str(error), at)
        log.info(
            "delivery.retry_scheduled",
            conversation=entry.key.as_str(),
            attempts=entry.attempts + 1,
            seconds=round((at - now).total_seconds(), 2),
        )
        asyncio.get_running_loop().call_later(
            (at - now).total_seconds(), self._kick_later, entry.key
        )
        return False

    def _kick_later(self, key: ConversationKey) -> None:
        task = asyncio.ensure_future(self._on_note({"key": key.as_str()}))
        self._retries.add(task)  # keep a reference until it is done
        task.add_done_callback(self._retries.discard)

    async def _give_up(self, entry: OutboxEntry, error: str) -> None:
        await self._outbox.mark_failed(entry, error)
        log.error(
            "delivery.failed",
            conversation=entry.key.as_str(),
            outbox_id=entry.id,
            attempts=entry.attempts + 1,
        )
        frame = {"type": "delivery_failed", "conversation": entry.key.as_str()}
        await self._bus.publish(AGENTS, {"agent_id": None, "frame": frame})
