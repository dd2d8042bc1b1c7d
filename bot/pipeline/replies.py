"""The replies the pipeline itself makes: policy answers, apologies, offers of a human."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from bot.dialogue.policy import PolicyAnswer
from bot.texts import human_button, say
from core.events import AnswerKind
from core.storage.outbox import new_reply_id
from core.text import Language
from core.types import OutgoingMessage


def with_reply_id(reply: OutgoingMessage, language: Language) -> OutgoingMessage:
    """``reply`` with the id that ratings, receipts and the outbox refer to, and the turn's
    language (unless it already has them)."""
    return dataclasses.replace(
        reply,
        custom={**reply.custom, "reply_id": reply.custom.get("reply_id") or new_reply_id()},
        language=reply.language or language,
    )


def reply_payload(reply: OutgoingMessage) -> dict[str, Any]:
    """What the BOT_REPLY event keeps besides the text."""
    return {
        "citations": [c.to_json() for c in reply.citations],
        "intent": reply.intent,
        "buttons": [{"title": b.title, "payload": b.payload} for b in reply.buttons],
        **dict(reply.custom),
    }


def render_answer(answer: PolicyAnswer, language: Language) -> OutgoingMessage:
    """The customer-facing message for a policy decision."""
    if answer.kind is AnswerKind.DONT_KNOW:
        return offer_human(
            say("chat.dont_know", language), language, AnswerKind.DONT_KNOW, answer.confidence
        )
    return OutgoingMessage(
        answer.text,
        citations=answer.citations,
        custom={"answer_kind": answer.kind.value, "confidence": round(answer.confidence, 4)},
    )


def offer_human(
    text: str, language: Language, kind: AnswerKind, confidence: float = 0.0
) -> OutgoingMessage:
    """``text`` with a button that asks for a human agent."""
    return OutgoingMessage(
        text,
        buttons=(human_button(language),),
        custom={"answer_kind": kind.value, "confidence": round(confidence, 4)},
    )


def refusal(text: str) -> OutgoingMessage:
    return OutgoingMessage(text, custom={"answer_kind": AnswerKind.REFUSAL.value})


def apology(language: Language) -> OutgoingMessage:
    """What the customer gets when something broke on our side; the conversation goes on."""
    return OutgoingMessage(
        say("chat.error", language), custom={"answer_kind": AnswerKind.ERROR.value}
    )


def new_message_id() -> str:
    return uuid.uuid4().hex
