"""One pipeline for every message from every channel, as small steps in a fixed order.

(the conversation runner: record, rate limit, one turn at a time) -> load session -> admin
command -> (handoff gate) -> understand -> decide -> answer -> log -> (the runner commits the
turn with its outbox rows; delivery sends them)
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from bot.admin import AdminCommands, is_command, parse_command
from bot.dialogue.actions import DialogueActions
from bot.dialogue.followup import contextual_query, is_follow_up
from bot.dialogue.policy import PolicyAnswer, Thresholds, decide_answer
from bot.dialogue.routing import (
    answered_before,
    failure_history,
    knowledge_first,
    settle_intent,
)
from bot.dialogue.session import Session, load_session
from bot.dialogue.understanding import Understander, Understanding
from bot.feedback.service import FeedbackService
from bot.feedback.transcript import KNOWLEDGE_ANSWERS
from bot.generation import generated_answer
from bot.handoff import HandoffService
from bot.llm_tasks import completion
from bot.texts import human_button, say
from bot.texts.language import language_for
from core.errors import KnowledgeError, StorageError
from core.events import AnswerKind, EventKind
from core.llm import ChatBackend
from core.settings import KefuSettings
from core.storage import ConversationStore
from core.storage.outbox import new_reply_id
from core.telemetry import observe_step, timed_turn
from core.text import Language, clean_text, prompt_language
from core.types import IncomingMessage, OutgoingMessage, StreamSink
from knowledge.rag_chain import rewrite_question
from knowledge.types import Passage, Retriever

log = structlog.get_logger(__name__)

CUSTOMER_COMMANDS = frozenset({"start"})


@dataclass(slots=True, frozen=True)
class Turn:
    """What one step needs to know about the message being handled."""

    message: IncomingMessage
    text: str
    language: Language
    session: Session
    stream: StreamSink | None = None
    """Where a generated answer's pieces go while it is written (channels that can show it)."""

    @property
    def log_context(self) -> dict[str, Any]:
        return {"conversation": self.message.key.as_str(), "message_id": self.message.message_id}


class Pipeline:
    """Turns one customer message into the bot's replies, recording both in the event log."""

    def __init__(
        self,
        settings: KefuSettings,
        store: ConversationStore,
        knowledge: Retriever,
        admin: AdminCommands,
        *,
        handoff: HandoffService | None = None,
        feedback: FeedbackService | None = None,
        understander: Understander | None = None,
        dialogue: DialogueActions | None = None,
        llm: ChatBackend | None = None,
    ) -> None:
        self._llm = llm
        self._llm_complete = completion(llm, "understand") if llm is not None else None
        self._feedback = feedback
        self._understander = understander
        self._dialogue = dialogue
        self._settings = settings
        self._store = store
        self._knowledge = knowledge
        self._admin = admin
        self._handoff = handoff
        self._thresholds = Thresholds(
            faq=settings.knowledge.faq_threshold, answer=settings.knowledge.answer_threshold
        )

    @timed_turn
    async def handle(
        self, message: IncomingMessage, *, stream: StreamSink | None = None
    ) -> list[OutgoingMessage]:
        """Answers ``message``. Never raises: failures become a polite apology.

        The conversation runner calls it inside a turn scope, one message of a conversation
        at a time, after recording and rate-limiting it; what is logged here commits with
        the replies.

        Args:
            message: the customer's message.
            stream: awaited with the pieces of a generated answer as the model writes them;
                the first returned message is then the final answer that replaces them.
        """
        return await self._handle_in_order(message, language_for(message), stream)

    async def _handle_in_order(
        self, message: IncomingMessage, language: Language, stream: StreamSink | None
    ) -> list[OutgoingMessage]:
        try:
            with observe_step("load_session"):
                session = await load_session(self._store, message.key)
            await self._store.append_event(
                message.key,
                EventKind.USER_MESSAGE,
                text=message.text,
                payload={"message_id": message.message_id, "parts": list(message.parts)},
            )
        except StorageError:
            log.exception("pipeline.storage_failed", conversation=message.key.as_str())
            return [_apology(language)]
        previous = session.last_user_text()
        if previous is not None:  # "DD20241101" alone: keep answering in the customer's language
            language = language_for(message, previous)
        turn = Turn(message, clean_text(message.text), language, session, stream)
        try:
            replies = await self._respond(turn)
        except Exception:
            log.exception("pipeline.failed", **turn.log_context)
            replies = [_apology(language)]
        return await self._record_replies(turn, replies)

    async def _respond(self, turn: Turn) -> list[OutgoingMessage]:
        if not turn.text:
            name = "chat.attachment" if turn.message.parts else "chat.empty"
            return [OutgoingMessage(say(name, turn.language), custom={"answer_kind": "refusal"})]
        limit = self._settings.server.max_message_chars
        if len(turn.text) > limit:
            return [OutgoingMessage(say("chat.too_long", turn.language, limit=limit))]
        key = turn.message.key
        if self._feedback is not None:
            is_admin = self._settings.is_admin(key.platform, key.user_id)
            rated = await self._feedback.handle_command(
                key, turn.text, turn.language, is_admin=is_admin
            )
            if rated is not None:
                return rated
        if is_command(turn.text):
            return await self._command(turn)
        if self._handoff is not None:
            routed = await self._handoff.route_customer_message(key, turn.text, turn.language)
            if routed is not None:  # a human has this conversation: relay, the bot stays quiet
                return routed
        if self._feedback is not None:
            reason = await self._feedback.take_pending_reason(key, turn.text)
            if reason is not None:
                return reason
        understood = await self._understand(turn)
        if understood is not None:
            understood = settle_intent(understood, turn.text)
        if self._handoff is not None:
            escalated = await self._maybe_escalate(turn, understood)
            if escalated is not None:
                return escalated
        if understood is not None and knowledge_first(
            turn.text, turn.language, understood, turn.session
        ):
            return [await self._answer_from_knowledge(turn)]
        if self._dialogue is not None and understood is not None:
            acted = await self._dialogue.respond(turn.session, turn.text, turn.language, understood)
            if acted is not None:
                return acted
        return [await self._answer_from_knowledge(turn)]

    async def _understand(self, turn: Turn) -> Understanding | None:
        if self._understander is None:
            return None
        with observe_step("understand"):
            understood = await asyncio.to_thread(self._understander.understand, turn.text)
            understood = await self._understand_with_llm(turn.text, understood)
        await self._store.append_event(
            turn.message.key, EventKind.UNDERSTANDING, payload=understood.to_json()
        )
        return understood

    async def _understand_with_llm(self, text: str, understood: Understanding) -> Understanding:
        """The model's second opinion, when one is configured and asked for."""
        config = self._settings.dialogue
        if self._understander is None or self._llm_complete is None:
            return understood
        if not (config.llm_refine or config.llm_entities):
            return understood
        return await self._understander.with_llm(
            understood,
            text,
            self._llm_complete,
            refine_below=config.llm_refine_below if config.llm_refine else None,
            entities=config.llm_entities,
        )

    async def _maybe_escalate(
        self, turn: Turn, understood: Understanding | None
    ) -> list[OutgoingMessage] | None:
        """Should a human take over now (asked for, complaint, frustration, repeated failure)?"""
        assert self._handoff is not None
        return await self._handoff.maybe_escalate(
            turn.message.key,
            turn.text,
            turn.language,
            intent=understood.intent if understood else None,
            frustrated=understood.sentiment.frustrated if understood else False,
            last_answers=failure_history(turn.session),
        )

    async def _command(self, turn: Turn) -> list[OutgoingMessage]:
        name, _ = parse_command(turn.text)
        key = turn.message.key
        if name in CUSTOMER_COMMANDS:
            return [OutgoingMessage(say("chat.greeting", turn.language))]
        allowed = self._settings.is_admin(key.platform, key.user_id)
        payload: dict[str, Any] = {"command": name, "allowed": allowed}
        if not allowed:
            log.warning("admin.refused", command=name, **turn.log_context)
            await self._store.append_event(key, EventKind.ADMIN_COMMAND, payload=payload)
            return [
                OutgoingMessage(
                    say("admin.refused", turn.language),
                    custom={"answer_kind": AnswerKind.REFUSAL.value},
                )
            ]
        if self._handoff is not None:
            handed = await self._handoff.admin_command(key, turn.text, turn.language)
            if handed is not None:
                await self._store.append_event(key, EventKind.ADMIN_COMMAND, payload=payload)
                return handed
        result = await self._admin.run(key, turn.text, turn.language)
        await self._store.append_event(key, EventKind.ADMIN_COMMAND, payload=payload)
        return result.replies

    async def _search(self, query: str) -> list[Passage]:
        with observe_step("retrieve"):
            hits = await asyncio.to_thread(
                self._knowledge.search, query, self._settings.knowledge.top_k
            )
        return list(hits)

    async def _retrieve(self, turn: Turn) -> tuple[list[Passage], str]:
        """The passages for this turn and the question they were found with (a follow-up is
        read with the previous question)."""
        passages = await self._search(turn.text)
        previous = turn.session.last_user_question()
        best = max((p.score for p in passages), default=0.0)
        follow_up = is_follow_up(turn.text, turn.language)
        # a follow-up ("平板呢") is read with the previous question even when it alone matches
        # something well: alone it matches whatever entry mentions its one word
        if not previous or (best >= self._thresholds.faq and not follow_up):
            return passages, turn.text
        if self._llm is not None and (follow_up or best < self._thresholds.answer):
            # the model resolves "it"/"that one" the rules miss; it falls back to them itself
            query = await rewrite_question(
                self._llm, turn.text, turn.session.history(), prompt_language(turn.language)
            )
        elif follow_up:
            query = contextual_query(previous, turn.text)
        else:
            return passages, turn.text
        log.info("pipeline.follow_up", rewritten=query != turn.text, **turn.log_context)
        if query == turn.text:
            return passages, turn.text
        return await self._search(query), query

    async def _answer_from_knowledge(
        self, turn: Turn, passages: list[Passage] | None = None
    ) -> OutgoingMessage:
        try:
            asked = turn.text
            if passages is None:
                passages, asked = await self._retrieve(turn)
        except KnowledgeError:
            log.exception("pipeline.knowledge_unavailable", **turn.log_context)
            return _offer_human(
                say("chat.knowledge_unavailable", turn.language), turn.language, AnswerKind.ERROR
            )
        before = answered_before(turn.text, turn.language, turn.session)
        answer = decide_answer(
            turn.text,
            turn.language,
            passages,
            self._thresholds,
            answered_before=before,
            asked=asked,
        )
        reply = render_answer(answer, turn.language)
        if self._llm is not None and answer.kind is AnswerKind.PASSAGE:
            with observe_step("generate"):
                reply = await generated_answer(
                    self._llm, turn.session, turn.text, turn.language, passages, reply, turn.stream
                )
        if self._feedback is not None and reply.custom.get("answer_kind") in KNOWLEDGE_ANSWERS:
            reply = self._feedback.with_buttons(reply, turn.language)  # rated by answer id
        return reply

    async def _record_replies(
        self, turn: Turn, replies: Sequence[OutgoingMessage]
    ) -> list[OutgoingMessage]:
        """Logs the replies, each with the id that ratings and receipts refer to."""
        recorded = []
        for reply in replies:
            reply = with_reply_id(reply, turn.language)
            recorded.append(reply)
            try:
                await self._store.append_event(
                    turn.message.key,
                    EventKind.BOT_REPLY,
                    text=reply.text,
                    payload=reply_payload(reply),
                )
            except StorageError:
                log.exception("pipeline.reply_not_recorded", **turn.log_context)
        return recorded


def with_reply_id(reply: OutgoingMessage, language: Language) -> OutgoingMessage:
    """``reply`` with its id and the turn's language (unless it already has them)."""
    return dataclasses.replace(
        reply,
        custom={**reply.custom, "reply_id": reply.custom.get("reply_id") or new_reply_id()},
        language=reply.language or language,
    )


def reply_payload(reply: OutgoingMessage) -> dict[str, Any]:
    return {
        "citations": [c.to_json() for c in reply.citations],
        "intent": reply.intent,
        "buttons": [{"title": b.title, "payload": b.payload} for b in reply.buttons],
        **dict(reply.custom),
    }


def render_answer(answer: PolicyAnswer, language: Language) -> OutgoingMessage:
    """The customer-facing message for a policy decision."""
    if answer.kind is AnswerKind.DONT_KNOW:
        return _offer_human(
            say("chat.dont_know", language), language, AnswerKind.DONT_KNOW, answer.confidence
        )
    return OutgoingMessage(
        answer.text,
        citations=answer.citations,
        custom={"answer_kind": answer.kind.value, "confidence": round(answer.confidence, 4)},
    )


def _offer_human(
    text: str, language: Language, kind: AnswerKind, confidence: float = 0.0
) -> OutgoingMessage:
    button = human_button(language)
    return OutgoingMessage(
        text,
        buttons=(button,),
        custom={"answer_kind": kind.value, "confidence": round(confidence, 4)},
    )


def _apology(language: Language) -> OutgoingMessage:
    return OutgoingMessage(
        say("chat.error", language), custom={"answer_kind": AnswerKind.ERROR.value}
    )


def new_message_id() -> str:
    return uuid.uuid4().hex
