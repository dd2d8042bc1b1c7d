"""Generative answers: the LLM writes the reply from the retrieved passages, citing them.

Used only when an LLM backend is configured, and only where the answer policy would quote a
passage: a confidently matched curated FAQ is still answered with its exact text, and below the
relevance threshold the bot still says it does not know, without asking the model. When the
model fails or times out, the customer gets the extractive answer instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from bot.dialogue.session import Session
from bot.texts import current_catalog, human_button
from core.events import AnswerKind
from core.llm import ChatBackend, with_fallback
from core.text import Language, prompt_language
from core.types import OutgoingMessage, StreamSink
from knowledge.rag_chain import GroundedAnswer, generate_grounded_answer
from knowledge.types import Passage

log = structlog.get_logger(__name__)


async def generated_answer(
    backend: ChatBackend,
    session: Session,
    question: str,
    language: Language,
    passages: Sequence[Passage],
    extractive: OutgoingMessage,
    stream_to: StreamSink | None = None,
) -> OutgoingMessage:
    """The model's grounded answer, or ``extractive`` when the model fails.

    With ``stream_to`` the answer's pieces are sent as they are generated; the returned
    message is the final form (citations checked) that replaces them, also after a stream
    broke halfway and the extractive answer took over.
    """

    async def generate() -> GroundedAnswer | None:
        return await generate_grounded_answer(
            backend,
            question,
            session.history(),
            passages,
            prompt_language(language),
            stream_to=stream_to,
            company=current_catalog().company(language),
        )

    answered = await with_fallback(generate, lambda: None)
    answer = answered.value
    if answered.fell_back or answer is None:
        log.warning("pipeline.llm_fallback", reason=answered.reason)
        return extractive
    if not answer.substantive:
        log.warning("pipeline.llm_unusable", chars=len(answer.text))
        return extractive
    if answer.dont_know:
        human = human_button(language)
        return OutgoingMessage(
            answer.text,
            buttons=(human,),
            custom={"answer_kind": AnswerKind.DONT_KNOW.value, "generated": True},
        )
    return OutgoingMessage(
        answer.text,
        citations=answer.citations(passages),
        custom={
            "answer_kind": AnswerKind.GENERATED.value,
            "confidence": extractive.custom.get("confidence"),
        },
    )
