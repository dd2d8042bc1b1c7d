"""What agents do: take conversations from the queue, talk to the customer, write notes,
close or release. Every action re-checks in the database that the conversation is queued or
the agent's own; the workspace only translates HTTP to these calls."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import structlog

from bot.handoff.agents import AgentDirectory
from bot.handoff.live import AgentHub, Socket
from bot.handoff.models import ASSIGNED, WAITING
from bot.handoff.queue import HandoffQueue
from bot.handoff.records import AgentRecord, HandoffRecord
from bot.handoff.summary import (
    TRANSCRIPT_KINDS,
    Summarize,
    TranscriptLine,
    transcript,
    transcript_text,
)
from bot.handoff.texts import RATING_BUTTONS, handoff_message
from bot.texts import say
from core.config.handoff import HandoffSettings
from core.errors import InputError, KefuError, PermissionDenied, StorageError
from core.events import EventKind
from core.storage import ConversationStore, EventRecord
from core.storage.outbox import EventToRecord
from core.telemetry.llm_calls import llm_purpose
from core.telemetry.metrics import observe_handoff_wait
from core.text import Language
from core.types import ConversationKey, OutgoingMessage, utcnow

log = structlog.get_logger(__name__)


class Deliver(Protocol):
    """Stores a message for the customer in the outbox (with its event-log entry, in one
    transaction, when ``record`` is given) and has it delivered on their platform.

    Returns the recorded event, if any. Raises StorageError when it could not be stored.
    """

    def __call__(
        self,
        key: ConversationKey,
        message: OutgoingMessage,
        *,
        record: EventToRecord | None = None,
    ) -> Awaitable[EventRecord | None]: ...


MAX_TEXT_CHARS = 4000
TRANSCRIPT_EVENTS = 200


class UnknownHandoff(KefuError):
    """No handoff with that id."""


class HandoffConflict(KefuError):
    """The handoff is not in the state the action needs (someone else claimed it first,
    the customer cancelled, it is not claimed yet)."""


class DeliveryFailed(KefuError):
    """The customer's platform did not take the agent's message."""


class AgentDesk:
    """The agent-side actions on the queue."""

    def __init__(
        self,
        config: HandoffSettings,
        queue: HandoffQueue,
        agents: AgentDirectory,
        store: ConversationStore,
        deliver: Deliver,
        hub: AgentHub,
        *,
        clock: Callable[[], datetime] = utcnow,
        summarize: Summarize | None = None,
    ) -> None:
        self._config = config
        self._queue = queue
        self._agents = agents
        self._store = store
        self._deliver = deliver
        self._hub = hub
        self._clock = clock
        self._summarize = summarize

    async def queue_view(self, agent: AgentRecord) -> dict[str, Any]:
        """The waiting queue (in order) and the agent's own conversations."""
        await self.release_abandoned()
        waiting = await self._queue.waiting()
        mine = await self._queue.assigned_to(agent.id)
        return {
            "waiting": [handoff_json(h, position=i) for i, h in enumerate(waiting, start=1)],
            "mine": [handoff_json(h) for h in mine],
        }

    async def conversation(self, handoff_id: int, agent: AgentRecord) -> dict[str, Any]:
        """The handoff, its transcript and summary, if it is queued or the agent's.

        Raises:
            UnknownHandoff: no such handoff.
            PermissionDenied: it is another agent's or closed.
        """
        handoff = await self._readable(handoff_id, agent)
        events = await self._store.events(
            handoff.key, kinds=list(TRANSCRIPT_KINDS), limit=TRANSCRIPT_EVENTS
        )
        return {
            "handoff": handoff_json(handoff),
            "transcript": [line.to_json() for line in transcript(events)],
            "summary": handoff.summary,
        }

    async def claim(self, handoff_id: int, agent: AgentRecord) -> dict[str, Any]:
        """Take a waiting conversation; exactly one of several agents claiming at once wins.

        Raises:
            UnknownHandoff: no such handoff.
            HandoffConflict: it is no longer waiting (another agent was first).
        """
        await self._agents.seen(agent.id)
        claimed = await self._queue.claim(handoff_id, agent.id)
        if claimed is None:
            if await self._queue.get(handoff_id) is None:
                raise UnknownHandoff(str(handoff_id))
            raise HandoffConflict("this conversation is no longer waiting")
        await self._handoff_event(claimed, "claimed", agent_id=agent.id)
        observe_handoff_wait(claimed.created_at, claimed.claimed_at)
        log.info("handoff.claimed", conversation=claimed.key.as_str(), agent_id=agent.id)
        language = _language(claimed)
        joined = say("handoff.claimed", language, agent=agent.name)
        await self.send_system(claimed.key, _state_message(joined, language, ASSIGNED, claimed))
        await self._hub.broadcast({"type": "queue"})
        await self._llm_summary(claimed)
        return await self.conversation(handoff_id, agent)

    async def reply(self, handoff_id: int, agent: AgentRecord, text: str) -> dict[str, Any]:
        """Send the agent's message to the customer, on the customer's platform.

        Raises:
            InputError: empty or too long.
            DeliveryFailed: the platform refused it (nothing is recorded; the agent retries).
        """
        text = _checked_text(text)
        handoff = await self._writable(handoff_id, agent)
        record = EventToRecord(
            EventKind.AGENT_MESSAGE, {"agent_id": agent.id, "handoff_id": handoff.id}
        )
        try:
            event = await self._deliver(
                handoff.key,
                OutgoingMessage(text, custom=_agent_custom(agent), language=handoff.language),
                record=record,
            )
        except StorageError as e:
            log.warning("handoff.reply_not_stored", conversation=handoff.key.as_str())
            raise DeliveryFailed("the message could not be stored, please retry") from e
        assert event is not None
        return transcript([event])[0].to_json()

    async def note(self, handoff_id: int, agent: AgentRecord, text: str) -> dict[str, Any]:
        """An internal note on the conversation; never sent to the customer."""
        text = _checked_text(text)
        handoff = await self._writable(handoff_id, agent)
        event = await self._store.append_event(
            handoff.key,
            EventKind.AGENT_NOTE,
            text=text,
            payload={"agent_id": agent.id, "handoff_id": handoff.id},
        )
        return transcript([event])[0].to_json()

    async def close(self, handoff_id: int, agent: AgentRecord, resolution: str) -> dict[str, Any]:
        """Close the conversation: the customer is asked for a 1-5 rating, then the bot
        answers again."""
        resolution = resolution.strip()[:MAX_TEXT_CHARS] or "resolved"
        await self._writable(handoff_id, agent)
        closed = await self._queue.close(handoff_id, agent.id, resolution)
        if closed is None:
            raise HandoffConflict("this conversation is no longer yours")
        await self._handoff_event(closed, "closed", agent_id=agent.id, resolution=resolution)
        log.info("handoff.closed", conversation=closed.key.as_str(), agent_id=agent.id)
        language = _language(closed)
        rate = handoff_message(
            say("handoff.rate", language),
            language,
            {"state": "closed", "handoff_id": closed.id, "rating_request": True},
            buttons=RATING_BUTTONS,
        )
        await self.send_system(closed.key, rate)
        await self._hub.broadcast({"type": "queue"})
        return handoff_json(closed)

    async def release(self, handoff_id: int, agent: AgentRecord) -> dict[str, Any]:
        """Give the conversation back to the queue for another agent."""
        await self._writable(handoff_id, agent)
        released = await self._release(handoff_id, agent.id, "agent")
        if released is None:
            raise HandoffConflict("this conversation is no longer yours")
        return handoff_json(released)

    async def cancel(self, handoff: HandoffRecord) -> bool:
        """The customer went back to the bot; the agent (if any) is told."""
        cancelled = await self._queue.cancel(handoff.id)
        if cancelled is None:
            return False
        await self._handoff_event(cancelled, "cancelled", agent_id=handoff.agent_id)
        log.info("handoff.cancelled", conversation=handoff.key.as_str())
        if handoff.agent_id is not None:
            frame = {"type": "handoff", "handoff_id": handoff.id, "action": "cancelled"}
            await self._hub.send_to(handoff.agent_id, frame)
        await self._hub.broadcast({"type": "queue"})
        return True

    async def relay_to_agent(self, handoff: HandoffRecord, text: str) -> None:
        """Push the customer's new message to the agent's open workspace (it is already in
        the event log, so an agent who is offline sees it on return)."""
        assert handoff.agent_id is not None
        line = TranscriptLine(0, "customer", text, self._now().isoformat())
        frame = {"type": "message", "handoff_id": handoff.id, "line": line.to_json()}
        if not await self._hub.send_to(handoff.agent_id, frame):
            log.info("handoff.relay.agent_offline", conversation=handoff.key.as_str())

    async def requeue_if_abandoned(self, handoff: HandoffRecord) -> HandoffRecord:
        """Release the conversation if its agent has been gone longer than the timeout."""
        if handoff.agent_id is None or not self._config.claim_timeout_minutes:
            return handoff
        if self._hub.is_connected(handoff.agent_id):
            return handoff
        agent = await self._agents.get(handoff.agent_id)
        seen = [handoff.claimed_at, agent.last_seen if agent is not None else None]
        cutoff = self._now() - self._claim_timeout()
        if any(moment is not None and moment >= cutoff for moment in seen):
            return handoff
        released = await self._release(handoff.id, handoff.agent_id, "agent_timeout")
        return released or handoff

    async def release_abandoned(self) -> list[HandoffRecord]:
        """Put back in the queue every conversation whose agent is gone past the timeout."""
        if not self._config.claim_timeout_minutes:
            return []
        released = []
        for handoff in await self._queue.abandoned(self._now() - self._claim_timeout()):
            assert handoff.agent_id is not None
            if self._hub.is_connected(handoff.agent_id):
                await self._agents.seen(handoff.agent_id)
                continue
            record = await self._release(handoff.id, handoff.agent_id, "agent_timeout")
            if record is not None:
                released.append(record)
        return released

    async def connected(self, agent: AgentRecord, socket: Socket) -> None:
        self._hub.connect(agent.id, socket)
        await self._agents.seen(agent.id, online=True)

    async def disconnected(self, agent: AgentRecord, socket: Socket) -> None:
        """Assignments stay: the agent may reconnect before the claim timeout."""
        if self._hub.disconnect(agent.id, socket):
            await self._agents.seen(agent.id, online=False)

    async def keep_alive(self) -> None:
        """Refresh presence of agents with an open workspace in this process."""
        for agent_id in self._hub.connected_agents():
            await self._agents.seen(agent_id, online=True)

    async def disconnect_all(self) -> None:
        await self._hub.close_all()

    async def send_system(self, key: ConversationKey, message: OutgoingMessage) -> None:
        """Deliver a handoff notice to the customer and log it as a bot reply."""
        payload = {
            "citations": [],
            "intent": None,
            "buttons": [{"title": b.title, "payload": b.payload} for b in message.buttons],
            **dict(message.custom),
        }
        try:
            await self._deliver(key, message, record=EventToRecord(EventKind.BOT_REPLY, payload))
        except StorageError:
            log.exception("handoff.notice_not_stored", conversation=key.as_str())

    async def _readable(self, handoff_id: int, agent: AgentRecord) -> HandoffRecord:
        handoff = await self._queue.get(handoff_id)
        if handoff is None:
            raise UnknownHandoff(str(handoff_id))
        if handoff.state == WAITING or _is_theirs(handoff, agent):
            return handoff
        raise PermissionDenied("this conversation is not in the queue and not yours")

    async def _writable(self, handoff_id: int, agent: AgentRecord) -> HandoffRecord:
        handoff = await self._readable(handoff_id, agent)
        if not _is_theirs(handoff, agent):
            raise HandoffConflict("claim this conversation first")
        await self._agents.seen(agent.id)
        return handoff

    async def _release(self, handoff_id: int, agent_id: int, reason: str) -> HandoffRecord | None:
        released = await self._queue.release(handoff_id, agent_id)
        if released is None:
            return None
        await self._handoff_event(released, "released", agent_id=agent_id, reason=reason)
        log.info("handoff.released", conversation=released.key.as_str(), reason=reason)
        language = _language(released)
        notice = _state_message(say("handoff.requeued", language), language, WAITING, released)
        await self.send_system(released.key, notice)
        await self._hub.send_to(
            agent_id, {"type": "handoff", "handoff_id": handoff_id, "action": "released"}
        )
        await self._hub.broadcast({"type": "queue"})
        return released

    async def _handoff_event(
        self, handoff: HandoffRecord, action: str, *, agent_id: int | None, **extra: Any
    ) -> None:
        payload = {
            "action": action,
            "reason": handoff.reason,
            "agent_id": agent_id,
            "priority": handoff.priority,
            "handoff_id": handoff.id,
            **extra,
        }
        await self._store.append_event(handoff.key, EventKind.HANDOFF, payload=payload)

    async def _llm_summary(self, handoff: HandoffRecord) -> None:
        """Add the model's summary on claim; the plain summary stays when it fails."""
        if self._summarize is None or "llm" in handoff.summary:
            return
        events = await self._store.events(handoff.key, kinds=list(TRANSCRIPT_KINDS), limit=60)
        text = transcript_text(transcript(events))
        try:
            with llm_purpose("summary"):
                summary = await asyncio.wait_for(
                    self._summarize(text), timeout=self._config.summary_timeout_s
                )
        except Exception:
            log.exception("handoff.summary_failed", conversation=handoff.key.as_str())
            return
        await self._queue.save_summary(handoff.id, {**handoff.summary, "llm": summary.strip()})

    def _claim_timeout(self) -> timedelta:
        return timedelta(minutes=self._config.claim_timeout_minutes)

    def _now(self) -> datetime:
        return self._clock().astimezone(UTC)


def handoff_json(handoff: HandoffRecord, *, position: int | None = None) -> dict[str, Any]:
    """A handoff as the workspace shows it."""
    return {
        "id": handoff.id,
        "key": handoff.key.as_str(),
        "platform": handoff.key.platform,
        "customer": handoff.customer_name or handoff.key.user_id,
        "state": handoff.state,
        "reason": handoff.reason,
        "priority": handoff.priority,
        "language": handoff.language,
        "agent_id": handoff.agent_id,
        "position": position,
        "created_at": handoff.created_at.isoformat(),
        "claimed_at": handoff.claimed_at.isoformat() if handoff.claimed_at else None,
        "summary": handoff.summary,
    }


def _is_theirs(handoff: HandoffRecord, agent: AgentRecord) -> bool:
    return handoff.state == ASSIGNED and handoff.agent_id == agent.id


def _checked_text(text: str) -> str:
    text = text.strip()
    if not text:
        raise InputError("the message is empty")
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(f"messages are limited to {MAX_TEXT_CHARS} characters")
    return text


def _language(handoff: HandoffRecord) -> Language:
    return handoff.language


def _agent_custom(agent: AgentRecord) -> dict[str, Any]:
    return {"answer_kind": "agent", "agent": agent.name, "handoff": {"state": ASSIGNED}}


def _state_message(
    text: str, language: Language, state: str, handoff: HandoffRecord
) -> OutgoingMessage:
    return handoff_message(text, language, {"state": state, "handoff_id": handoff.id})
