"""The handoff gate around the pipeline: escalate, relay while a human has the conversation,
take cancel and rating replies, hand the conversation back to the bot.

The pipeline calls :meth:`HandoffService.route_customer_message` for every customer message
before the bot answers, and :meth:`HandoffService.maybe_escalate` after understanding it.
Agents act through :attr:`HandoffService.desk` (the workspace calls it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from bot.admin import is_command, parse_command
from bot.handoff.agents import AgentDirectory
from bot.handoff.desk import AgentDesk, Deliver
from bot.handoff.hours import is_open
from bot.handoff.live import AgentHub, Publish
from bot.handoff.models import ASSIGNED, CLOSED, WAITING
from bot.handoff.queue import HandoffQueue, UnknownConversation
from bot.handoff.records import REASON_PRIORITY, HandoffRecord, Reason
from bot.handoff.summary import SUMMARY_KINDS, Summarize, plain_summary
from bot.handoff.texts import handoff_message, hours_text, wait_minutes
from bot.handoff.triggers import asks_for_human, escalation_reason, is_cancel, parse_rating
from bot.texts import say
from core.config.handoff import HandoffSettings
from core.events import EventKind
from core.storage import ConversationStore, Database
from core.text import Language
from core.types import ConversationKey, OutgoingMessage, utcnow

log = structlog.get_logger(__name__)

SWEEP_SECONDS = 30.0
ADMIN_COMMAND = "handoff"


@dataclass(slots=True, frozen=True)
class WaitingNotice:
    """Sent to the optional notification hook (a group chat) when a conversation waits."""

    key: ConversationKey
    handoff_id: int
    reason: str
    priority: int
    position: int
    last_message: str | None


Notify = Callable[[WaitingNotice], Awaitable[None]]


class HandoffService:
    """Human handoff for one running bot.

    Args:
        config: settings ``handoff``.
        database: the migrated database shared with ``store``.
        store: the conversation store (event log, conversation status).
        deliver: sends a message to a customer on their own platform, by key.
        clock: returns the current timezone-aware time.
        summarize: an LLM summary of a transcript, when a model is configured.
        notify: called (in the background) when a conversation starts waiting.
        publish: puts workspace frames on the bus between workers (several workers).
    """

    def __init__(
        self,
        config: HandoffSettings,
        database: Database,
        store: ConversationStore,
        deliver: Deliver,
        *,
        clock: Callable[[], datetime] = utcnow,
        summarize: Summarize | None = None,
        notify: Notify | None = None,
        publish: Publish | None = None,
    ) -> None:
        self.config = config
        self._config = config
        self._store = store
        self.clock = clock
        self.db = database
        self._notify = notify
        self._background: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self.queue = HandoffQueue(database, clock=clock)
        self.agents = AgentDirectory(database, clock=clock)
        self.hub = AgentHub(publish)
        self.desk = AgentDesk(
            self._config,
            self.queue,
            self.agents,
            store,
            deliver,
            self.hub,
            clock=clock,
            summarize=summarize,
        )

    async def route_customer_message(
        self, key: ConversationKey, text: str, language: Language
    ) -> list[OutgoingMessage] | None:
        """The handoff gate, for every customer message before the bot answers.

        The pipeline has already appended the message to the event log.

        Returns:
            None when the bot should answer as usual; otherwise what to send the customer
            (often nothing: the message went to the agent).
        """
        conversation = await self._store.get(key)
        status = conversation.status if conversation else "bot"
        if status == CLOSED:
            return await self._after_close(key, text, language)
        if status not in (WAITING, ASSIGNED):
            return None
        handoff = await self.queue.open_for(key)
        if handoff is None:  # the status was stale: nothing is open any more
            return None
        if is_cancel(text, self._config.cancel_words):
            return await self._cancel(handoff, language)
        if handoff.state == ASSIGNED:
            handoff = await self.desk.requeue_if_abandoned(handoff)
        if handoff.state == ASSIGNED and handoff.agent_id is not None:
            await self.desk.relay_to_agent(handoff, text)
            return []
        return await self._while_waiting(handoff, text, language)

    async def maybe_escalate(
        self,
        key: ConversationKey,
        text: str,
        language: Language,
        *,
        intent: str | None = None,
        frustrated: bool = False,
        last_answers: Sequence[str] = (),
    ) -> list[OutgoingMessage] | None:
        """Hand the conversation to a human when a trigger fires, after understanding.

        Args:
            key: the conversation.
            text: the customer's message.
            language: the customer's language.
            intent: the detected intent, if any.
            frustrated: the sentiment analysis found strong frustration.
            last_answers: ``answer_kind`` of the bot's previous replies, newest last.

        Returns:
            None when no trigger fired (the bot answers); else the message telling the
            customer what happens next.
        """
        if not self._config.enabled:
            return None
        reason = escalation_reason(
            text,
            self._config.triggers,
            intent=intent,
            frustrated=frustrated,
            last_answers=last_answers,
        )
        if reason is None:
            return None
        await self._store.get_or_create(key)
        return await self.escalate(key, reason, language)

    async def escalate(
        self, key: ConversationKey, reason: Reason, language: Language
    ) -> list[OutgoingMessage]:
        """Queue the conversation for a human (once) and tell the customer what comes next.

        Raises:
            UnknownConversation: if the bot has never seen this conversation.
        """
        events = await self._store.events(key, kinds=list(SUMMARY_KINDS), limit=60)
        summary = plain_summary(events, reason.value, self._config.summary_turns)
        priority = REASON_PRIORITY[reason]
        handoff, created = await self.queue.enqueue(
            key, reason=reason.value, priority=priority, language=language, summary=summary
        )
        if created:
            await self._store.append_event(
                key,
                EventKind.HANDOFF,
                payload={
                    "action": "escalated",
                    "reason": reason.value,
                    "agent_id": None,
                    "priority": priority,
                    "handoff_id": handoff.id,
                },
            )
            log.info("handoff.escalated", conversation=key.as_str(), reason=reason.value)
            await self.hub.broadcast({"type": "queue"})
        if handoff.state == ASSIGNED:
            return []  # already with an agent, who sees every message
        position = await self.queue.position(handoff)
        if created:
            self._notify_waiting(handoff, position, summary)
        return [await self._queue_notice(handoff, position, language)]

    async def admin_command(
        self, key: ConversationKey, text: str, language: Language
    ) -> list[OutgoingMessage] | None:
        """``/handoff <conversation key>``: an admin hands any conversation to a human.

        Returns:
            None when ``text`` is not this command; otherwise the reply to the admin. The
            caller has checked that the sender is an admin.
        """
        if not is_command(text):
            return None
        name, argument = parse_command(text)
        if name != ADMIN_COMMAND:
            return None
        if not self._config.triggers.admin_command:
            return [OutgoingMessage(say("handoff.admin.disabled", language))]
        try:
            target = ConversationKey.parse(argument) if argument else key
            notices = await self.escalate(target, Reason.ADMIN, language)
        except (ValueError, UnknownConversation):
            usage = say("handoff.admin.usage", language, argument=argument or "-")
            return [OutgoingMessage(usage)]
        if target != key:
            for notice in notices:
                await self.desk.send_system(target, notice)
        return [OutgoingMessage(say("handoff.admin.done", language, target=target.as_str()))]

    async def disconnect_agents(self) -> None:
        """Close the agents' WebSockets (from ``app.on_shutdown``, so shutdown is quick);
        the workspace reconnects by itself and assignments stay."""
        await self.desk.disconnect_all()

    async def start(self) -> None:
        """Start releasing conversations of agents who left (also done lazily)."""
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep_forever())

    async def close(self) -> None:
        """Stop background work; assignments stay in the database."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
            self._sweeper = None
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.desk.disconnect_all()

    async def _after_close(
        self, key: ConversationKey, text: str, language: Language
    ) -> list[OutgoingMessage] | None:
        """The agent closed and asked for a rating: a 1-5 reply is it, anything else goes to
        the bot. Either way the conversation is the bot's again."""
        latest = await self.queue.latest_for(key)
        rating = parse_rating(text)
        window = timedelta(hours=self._config.rating_window_hours)
        recent = (
            latest is not None
            and latest.closed_at is not None
            and (self._now() - latest.closed_at <= window)
        )
        await self.queue.return_to_bot(key)
        if rating is None or latest is None or not recent:
            return None
        await self._store.append_event(
            key,
            EventKind.CSAT,
            payload={"score": rating, "handoff_id": latest.id, "agent_id": latest.agent_id},
        )
        log.info("handoff.rated", conversation=key.as_str(), score=rating)
        # "5" has no language of its own: answer in the one the handoff was in.
        spoken: Language = latest.language
        state = {"state": "bot", "rating": rating}
        return [
            handoff_message(say("handoff.thanks_for_rating", spoken), spoken, state, buttons=())
        ]

    async def _cancel(self, handoff: HandoffRecord, language: Language) -> list[OutgoingMessage]:
        cancelled = await self.desk.cancel(handoff)
        state = {"state": "bot" if cancelled else handoff.state}
        return [handoff_message(say("handoff.cancelled", language), language, state, buttons=())]

    async def _while_waiting(
        self, handoff: HandoffRecord, text: str, language: Language
    ) -> list[OutgoingMessage]:
        """Passed on silently, with a queue position now and then (or when asked again)."""
        await self.hub.broadcast({"type": "queue"})
        interval = timedelta(minutes=self._config.queue_notice_minutes)
        due = handoff.notified_at is None or self._now() - handoff.notified_at >= interval
        if not (due or asks_for_human(text, self._config.triggers)):
            return []
        position = await self.queue.position(handoff)
        await self.queue.mark_notified(handoff.id)
        state = {"state": WAITING, "position": position, "handoff_id": handoff.id}
        return [
            handoff_message(
                say("handoff.still_waiting", language, position=position), language, state
            )
        ]

    async def _queue_notice(
        self, handoff: HandoffRecord, position: int, language: Language
    ) -> OutgoingMessage:
        online = await self.agents.online_count(timedelta(seconds=self._config.presence_seconds))
        state: dict[str, Any] = {
            "state": handoff.state,
            "handoff_id": handoff.id,
            "reason": handoff.reason,
            "position": position,
            "agents_online": online,
        }
        await self.queue.mark_notified(handoff.id)
        opened = is_open(self._config.hours, self._now())
        if opened and online > 0:
            minutes = wait_minutes(position, online, self._config.average_handling_minutes)
            state["estimated_wait_minutes"] = minutes
            text = say("handoff.queued", language, position=position, minutes=minutes)
            return handoff_message(text, language, state)
        state["message_left"] = True
        why = say("handoff.nobody_online" if opened else "handoff.closed_now", language)
        hours = hours_text(self._config.hours)
        return handoff_message(
            say("handoff.left_message", language, why=why, hours=hours), language, state
        )

    def _notify_waiting(
        self, handoff: HandoffRecord, position: int, summary: dict[str, Any]
    ) -> None:
        if self._notify is None:
            return
        turns = [t for t in summary.get("last_turns", []) if t.get("role") == "customer"]
        notice = WaitingNotice(
            key=handoff.key,
            handoff_id=handoff.id,
            reason=handoff.reason,
            priority=handoff.priority,
            position=position,
            last_message=turns[-1]["text"] if turns else None,
        )
        task = asyncio.create_task(self._run_notify(self._notify, notice))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _run_notify(self, notify: Notify, notice: WaitingNotice) -> None:
        try:
            await asyncio.wait_for(notify(notice), timeout=30)
        except Exception:
            log.exception("handoff.notify_failed", handoff_id=notice.handoff_id)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                await self.desk.keep_alive()
                await self.desk.release_abandoned()
            except Exception:
                log.exception("handoff.sweep_failed")

    def _now(self) -> datetime:
        return self.clock().astimezone(UTC)
