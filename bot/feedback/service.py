"""Feedback on channels: 👍/👎 on knowledge answers, the 👎 reason, and the admin review commands.

The pipeline calls three hooks: :meth:`FeedbackService.buttons` (attached under every knowledge
answer), :meth:`FeedbackService.handle_command` (before admin commands) and
:meth:`FeedbackService.take_pending_reason` (before answering a plain message).
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog

from bot.feedback.candidates import Candidate, CandidateScanner, CandidateStore
from bot.feedback.clustering import Embed
from bot.feedback.redact import personal_data_kinds
from bot.feedback.review import AddAlternative, AddFaq, Review, ReviewError
from bot.feedback.transcript import KNOWLEDGE_ANSWERS, is_command_text, is_knowledge_answer
from bot.texts import human_button, say
from core.config.feedback import FeedbackSettings
from core.events import AnswerKind, EventKind
from core.storage import ConversationStore, Database, EventRecord
from core.text import Language, detect_language
from core.types import Button, ConversationKey, OutgoingMessage, utcnow

if TYPE_CHECKING:
    pass

log = structlog.get_logger(__name__)

UP_PAYLOAD = "/feedback up"
DOWN_PAYLOAD = "/feedback down"
REVIEW_LIST_LIMIT = 10
ANSWER_REF = "ans:"
RATEABLE_REPLIES = 500
"""How far back a rating button still finds its answer in the conversation."""
_ANSWER_REF = re.compile(r"^ans:([0-9a-f]{1,32})(?:\s+(.*))?$", re.DOTALL)
MAX_REASON_CHARS = 1000
_COMMAND = re.compile(r"^/feedback(?:@\S+)?(?:\s+(\S+))?(?:\s+(.*))?$", re.DOTALL | re.IGNORECASE)
_EMOJI = {"👍": "up", "👎": "down"}
_QUESTION_START = re.compile(
    r"^(how|what|why|when|where|which|who|can|could|do|does|is|are|will|would|should)\b",
    re.IGNORECASE,
)
ADMIN_ACTIONS = frozenset({"review", "approve", "reject"})


def looks_like_question(text: str) -> bool:
    """A new question rather than the reason for a 👎 (the customer moved on)."""
    stripped = text.strip()
    return stripped.endswith(("?", "？", "吗", "呢")) or bool(_QUESTION_START.match(stripped))


class FeedbackService:
    """Ratings, 👎 reasons and candidate review on every channel, plus the admin pages.

    Args:
        settings: the ``feedback`` section of the settings.
        store: the conversation store (ratings are FEEDBACK events in its log).
        database: where candidate gold answers are stored (migration ``0004_feedback``).
        add_faq: adds an approved pair to the knowledge base, e.g. ``KnowledgeBase.add_faq``.
        add_alternative: adds an approved phrasing to an FAQ entry, e.g.
            ``KnowledgeBase.add_alternative``.
        embed: texts -> vectors for grouping unanswered questions on the dashboard (e.g. the
            knowledge base's embedder); TF-IDF character n-grams when None.
        clock: the current time (timezone-aware); injectable for tests.
    """

    def __init__(
        self,
        settings: FeedbackSettings,
        store: ConversationStore,
        database: Database,
        add_faq: AddFaq,
        *,
        add_alternative: AddAlternative | None = None,
        embed: Embed | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.embed = embed
        self.store = store
        self.database = database
        self.candidates = CandidateStore(database, clock=clock)
        self.scanner = CandidateScanner(
            store,
            database,
            self.candidates,
            context_turns=settings.context_turns,
            context_gap=timedelta(minutes=settings.context_gap_minutes),
            clock=clock,
        )
        self.review = Review(self.candidates, self.scanner, add_faq, add_alternative)
        self._clock = clock

    def buttons(self, language: Language, answer_id: str | None = None) -> tuple[Button, ...]:
        """👍 / 👎 quick replies for a knowledge answer (none when feedback is disabled).

        With ``answer_id`` the payloads name the answer (``/feedback up ans:<id>``), so a
        button under an earlier answer rates that answer, not the newest one.
        """
        if not self.settings.enabled:
            return ()
        suffix = f" {ANSWER_REF}{answer_id}" if answer_id else ""
        return (
            Button(say("feedback.button_up", language), UP_PAYLOAD + suffix),
            Button(say("feedback.button_down", language), DOWN_PAYLOAD + suffix),
        )

    def with_buttons(self, reply: OutgoingMessage, language: Language) -> OutgoingMessage:
        """``reply`` with its answer id and its 👍 / 👎 buttons, when it is a knowledge answer
        (FAQ, passage, generated); any other reply unchanged.

        The id is the reply's own id (``custom["reply_id"]``, which the outbox and receipts
        use too; made here when missing), also kept as ``custom["answer_id"]``, hence in the
        BOT_REPLY event's payload.
        """
        if not self.settings.enabled or reply.custom.get("answer_kind") not in KNOWLEDGE_ANSWERS:
            return reply
        answer_id = str(reply.custom.get("reply_id") or uuid.uuid4().hex)
        custom = {**reply.custom, "answer_id": answer_id, "reply_id": answer_id}
        buttons = reply.buttons + self.buttons(language, answer_id)
        return dataclasses.replace(reply, buttons=buttons, custom=custom)

    async def handle_command(
        self, key: ConversationKey, text: str, language: Language, *, is_admin: bool
    ) -> list[OutgoingMessage] | None:
        """Handles ``/feedback ...`` (and a bare 👍 or 👎); None for any other text.

        Args:
            key: the conversation the command came from.
            text: the customer's message, cleaned.
            language: the language to answer in.
            is_admin: whether the sender may review candidates.
        """
        parsed = _parse(text)
        if parsed is None or not self.settings.enabled:
            return None
        action, argument = parsed
        if action in ("up", "down"):
            return await self._rate(key, action, argument, language)
        if action in ADMIN_ACTIONS:
            return await self._admin(key, action, argument, language, is_admin=is_admin)
        return [_reply(say("feedback.usage", language))]

    async def take_pending_reason(
        self, key: ConversationKey, text: str
    ) -> list[OutgoingMessage] | None:
        """Records ``text`` as the reason for the 👎 just given, if the bot is waiting for one.

        The bot waits after a 👎 without a reason, until the customer writes something else,
        for ``reason_timeout_s``. A command or a question is not taken as a reason: the
        customer moved on, and the message is answered normally (None is returned).
        """
        stripped = text.strip()
        if not self.settings.enabled or not stripped or is_command_text(stripped):
            return None
        if looks_like_question(stripped):
            return None
        rating = await self._reason_wanted(key, stripped)
        if rating is None:
            return None
        reason = stripped[:MAX_REASON_CHARS]
        payload = {"rating": "down", "reply_event_id": rating.payload["reply_event_id"]}
        await self.store.append_event(
            key, EventKind.FEEDBACK, payload={**payload, "reason": reason}
        )
        log.info("feedback.reason_recorded", conversation=key.as_str())
        language = rating.payload.get("language", "en")
        return [_reply(say("feedback.thanks_reason", language), "reason")]

    async def _rate(
        self, key: ConversationKey, rating: str, argument: str, language: Language
    ) -> list[OutgoingMessage]:
        answer_id, reason = _answer_ref(argument)
        if answer_id is not None:
            answer = await self._knowledge_answer(key, answer_id)
        else:
            answer = await self._latest_knowledge_answer(key)
        if answer is None:
            return [_reply(say("feedback.nothing_to_rate", language), "none")]
        # "/feedback down" reads as English; answer in the language of the rated answer.
        language = detect_language(answer.text or "", default=language)
        payload: dict[str, Any] = {
            "rating": rating,
            "reply_event_id": answer.id,
            "answer_id": answer.payload.get("answer_id"),
            "reason": reason[:MAX_REASON_CHARS] or None,
            "language": language,
        }
        await self.store.append_event(key, EventKind.FEEDBACK, payload=payload)
        log.info("feedback.rated", conversation=key.as_str(), rating=rating, reply=answer.id)
        if rating == "up":
            return [_reply(say("feedback.thanks_up", language), "up")]
        if reason:
            return [_reply(say("feedback.thanks_reason", language), "down")]
        human = human_button(language)
        return [_reply(say("feedback.ask_reason", language), "down", buttons=(human,))]

    async def _knowledge_answer(self, key: ConversationKey, answer_id: str) -> EventRecord | None:
        """The knowledge answer of this conversation that carries ``answer_id``, if any."""
        replies = await self.store.events(key, kinds=[EventKind.BOT_REPLY], limit=RATEABLE_REPLIES)
        return next(
            (
                event
                for event in reversed(replies)
                if event.payload.get("answer_id") == answer_id and is_knowledge_answer(event)
            ),
            None,
        )

    async def _latest_knowledge_answer(self, key: ConversationKey) -> EventRecord | None:
        replies = await self.store.events(key, kinds=[EventKind.BOT_REPLY], limit=50)
        return next((event for event in reversed(replies) if is_knowledge_answer(event)), None)

    async def _reason_wanted(self, key: ConversationKey, text: str) -> EventRecord | None:
        """The reason-less 👎 the bot is waiting on a reason for, if any."""
        events = await self.store.events(key, limit=10)
        current = events[-1] if events else None
        if (
            current
            and current.kind == EventKind.USER_MESSAGE
            and (current.text or "").strip() == text
        ):
            events = events[:-1]  # the message being handled, already logged
        index = next(
            (i for i in range(len(events) - 1, -1, -1) if events[i].kind == EventKind.FEEDBACK),
            None,
        )
        if index is None:
            return None
        rating = events[index]
        if any(event.kind == EventKind.USER_MESSAGE for event in events[index + 1 :]):
            return None
        if rating.payload.get("rating") != "down" or rating.payload.get("reason"):
            return None
        waited = self._clock() - rating.created_at
        return rating if waited.total_seconds() <= self.settings.reason_timeout_s else None

    async def _admin(
        self,
        key: ConversationKey,
        action: str,
        argument: str,
        language: Language,
        *,
        is_admin: bool,
    ) -> list[OutgoingMessage]:
        command = f"feedback {action}"
        payload: dict[str, Any] = {"command": command, "allowed": is_admin}
        if not is_admin:
            log.warning("admin.refused", command=command, conversation=key.as_str())
            await self.store.append_event(key, EventKind.ADMIN_COMMAND, payload=payload)
            text = say("admin.refused", language)
            return [OutgoingMessage(text, custom={"answer_kind": AnswerKind.REFUSAL.value})]
        if action == "review":
            text = await self._review_list(language)
        else:
            text = await self._decide(key, action, argument, language)
        await self.store.append_event(key, EventKind.ADMIN_COMMAND, payload=payload)
        custom = {"answer_kind": AnswerKind.ADMIN.value, "admin_command": command}
        return [OutgoingMessage(text, custom=custom)]

    async def _review_list(self, language: Language) -> str:
        pending = await self.review.pending()
        if not pending:
            return say("feedback.review_empty", language)
        lines = [say("feedback.review_header", language, count=len(pending))]
        lines.extend(_describe(candidate, language) for candidate in pending[:REVIEW_LIST_LIMIT])
        lines.append(say("feedback.review_footer", language))
        return "\n".join(lines)

    async def _decide(
        self, key: ConversationKey, action: str, argument: str, language: Language
    ) -> str:
        head, _, rest = argument.strip().lstrip("#").partition(" ")
        if not head.isdigit():
            return say("feedback.error_bad_id", language)
        candidate_id, reviewer = int(head), key.as_str()
        try:
            if action == "approve":  # "/feedback approve 12 [entry]": the entry gets the wording
                approved = await self.review.approve(
                    candidate_id, reviewer, alternative_of=rest or None
                )
                return say("feedback.approved", language, id=candidate_id, faq_id=approved.faq_id)
            await self.review.reject(candidate_id, reviewer, rest)
            return say("feedback.rejected", language, id=candidate_id)
        except ReviewError as error:
            return say(
                f"feedback.error_{error.code}", language, id=candidate_id, detail=error.detail
            )


def _answer_ref(argument: str) -> tuple[str | None, str]:
    """``"ans:<id> the reason"`` -> (id, reason); a plain reason has no id."""
    match = _ANSWER_REF.match(argument)
    if match is None:
        return None, argument
    return match.group(1), (match.group(2) or "").strip()


def _parse(text: str) -> tuple[str, str] | None:
    stripped = text.strip()
    if stripped in _EMOJI:
        return _EMOJI[stripped], ""
    match = _COMMAND.match(stripped)
    if match is None:
        return None
    return (match.group(1) or "").lower(), (match.group(2) or "").strip()


def _describe(candidate: Candidate, language: Language) -> str:
    question = _shorten(candidate.question)
    answer = _shorten(candidate.answer)
    asked, answered = say("feedback.review_q", language), say("feedback.review_a", language)
    lines = [
        f"#{candidate.id} [{candidate.trigger}] {asked}: {question}",
        f"   {answered}: {answer}",
    ]
    kinds = personal_data_kinds(f"{candidate.question}\n{candidate.answer}")
    if kinds:
        warning = say("feedback.review_personal_data", language, kinds=", ".join(sorted(kinds)))
        lines.append(f"   {warning}")
    return "\n".join(lines)


def _shorten(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _reply(
    text: str, feedback: str | None = None, *, buttons: tuple[Button, ...] = ()
) -> OutgoingMessage:
    custom = {"feedback": feedback} if feedback else {}
    return OutgoingMessage(text, buttons=buttons, custom=custom)
