"""The last step: the answer from the knowledge base (FAQ, passage, generated, or "don't
know" with a human offered)."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import replace

import structlog

from bot.dialogue.entities import ProductCatalogue
from bot.dialogue.followup import (
    contextual_query,
    goes_on_with,
    is_follow_up,
    is_short,
    may_follow_up,
)
from bot.dialogue.policy import PolicyAnswer, Thresholds, decide_answer
from bot.dialogue.questions import separate_questions
from bot.dialogue.routing import answered_before, previous_citations
from bot.dialogue.scope import subject_words
from bot.generation import generated_answer
from bot.pipeline.replies import offer_human, render_answer
from bot.pipeline.turn import Proceed, Replies, Turn
from bot.texts import say
from core.errors import KnowledgeError
from core.events import AnswerKind
from core.llm import ChatBackend
from core.telemetry import observe_step
from core.text import Language, detect_language, prompt_language
from core.types import OutgoingMessage
from knowledge.rag_chain import rewrite_question
from knowledge.types import Passage, Retriever

log = structlog.get_logger(__name__)

GENERIC_PRODUCT: dict[Language, str] = {"zh": "它", "en": "it"}
"""What a product name becomes in a second search (:meth:`KnowledgeAnswer._search`): a word
that names nothing, so the rest of the question must match ("Aurora X1 好用吗" is not answered
by any entry that says 商品)."""


def _kind(reply: OutgoingMessage) -> object:
    return reply.custom.get("answer_kind")


def _may_lean_back(alone: PolicyAnswer, language: Language) -> bool:
    """Is the answer a short question got alone worth checking against the previous question?
    A quoted passage is (it may be another topic's), and so is finding nothing in Chinese:
    "最多能抵多少" after "积分多少能抵一块钱". An English question that alone finds nothing
    stays "don't know" unless it points back (read with the previous one before this):
    "do you sell phone cases?" after a warranty answer shares "phone" with it, while a Chinese
    compound (手机壳) stays whole and is not in that entry."""
    return alone.kind is AnswerKind.PASSAGE or (
        alone.kind is AnswerKind.DONT_KNOW and language == "zh"
    )


class KnowledgeAnswer:
    """Answers every turn that reaches it from the knowledge base.

    Args:
        knowledge: the retriever (hybrid search over the company's FAQ and documents).
        thresholds: calibrated scores for a curated FAQ answer and for any answer.
        top_k: how many passages to retrieve.
        llm: writes the answer from the passages, and resolves follow-ups, when configured.
        products: the shop's product names: a question naming one ("Is the Aurora Fold
            covered?") is about us, though the knowledge base never names it.
    """

    def __init__(
        self,
        knowledge: Retriever,
        thresholds: Thresholds,
        top_k: int,
        llm: ChatBackend | None = None,
        products: ProductCatalogue | None = None,
    ) -> None:
        self._knowledge = knowledge
        self._thresholds = thresholds
        self._top_k = top_k
        self._llm = llm
        self._products = products or ProductCatalogue()

    async def __call__(self, turn: Turn, proceed: Proceed) -> Replies:
        corrected = await asyncio.to_thread(self._knowledge.corrected, turn.text)  # "warrenty"
        turn = replace(turn, text=corrected)
        questions = separate_questions(turn.text)
        if len(questions) > 1:
            return await self.answer_each(turn, questions)
        return [await self.answer(turn)]

    async def answer(
        self, turn: Turn, question: str | None = None, *, search_with: str | None = None
    ) -> OutgoingMessage:
        """The answer to the turn, or to ``question``, one of several the turn asks (found
        with ``search_with`` when it leans on another)."""
        said = question or turn.text
        try:
            if question is None:
                passages, asked = await self._retrieve(turn)
            else:
                passages, asked = await self._search(search_with or question)
            before = answered_before(said, turn.language, turn.session) if question is None else ()
            answer = self._decide(said, turn.language, passages, before, asked)
            if question is None and asked == said and _may_lean_back(answer, turn.language):
                answer, passages = await self._read_with_previous(turn, answer, passages)
        except KnowledgeError:
            log.exception("pipeline.knowledge_unavailable", **turn.log_context)
            text = say("chat.knowledge_unavailable", turn.language)
            return offer_human(text, turn.language, AnswerKind.ERROR)
        reply = render_answer(answer, turn.language)
        if self._llm is not None and answer.kind is AnswerKind.PASSAGE:
            stream = turn.stream if question is None else None  # one stream, one answer
            with observe_step("generate"):
                reply = await generated_answer(
                    self._llm, turn.session, said, turn.language, passages, reply, stream
                )
        return reply

    async def answer_each(self, turn: Turn, questions: list[str]) -> Replies:
        """One answer per question ("保修多久，另外能开发票吗"); the questions the knowledge
        base cannot answer are named in one offer of a human. When it answers none of them,
        the message is answered as a whole."""
        first = questions[0]
        replies = []
        for question in questions:
            # "... and how much does it cost?" leans on the first question
            leans = question is not first and is_follow_up(question, turn.language)
            search_with = f"{first} {question}" if leans else None
            replies.append(await self.answer(turn, question, search_with=search_with))
        broken = [r for r in replies if _kind(r) == AnswerKind.ERROR]
        if broken:
            return broken[:1]
        unanswered = [
            q for q, r in zip(questions, replies, strict=True) if _kind(r) == AnswerKind.DONT_KNOW
        ]
        if len(unanswered) == len(questions):
            return [await self.answer(turn)]
        answered = [r for r in replies if _kind(r) != AnswerKind.DONT_KNOW]
        if unanswered:
            named = [q.rstrip("?？!！。. ") for q in unanswered]
            joined = say("chat.list_separator", turn.language).join(named)
            text = say("chat.dont_know_part", turn.language, questions=joined)
            answered.append(offer_human(text, turn.language, AnswerKind.DONT_KNOW))
        log.info("pipeline.questions", asked=len(questions), unanswered=len(unanswered))
        return answered

    async def _read_with_previous(
        self, turn: Turn, alone: PolicyAnswer, passages: list[Passage]
    ) -> tuple[PolicyAnswer, list[Passage]]:
        """A short question that alone finds only a passage, read with the previous one:
        "how many days after buying?" after "do you price match" (alone: delivery times),
        "多少分抵一块钱" after "积分怎么用" (alone: shipping fees), "能退吗" after "礼品卡有哪些
        面额" (alone: the general return policy). Kept only when that finds an entry the
        conversation goes on with (:func:`~bot.dialogue.followup.goes_on_with`). One that
        alone finds nothing is left alone: "do you sell phone cases?" after a warranty answer
        shares "phone" with it and is still not about it."""
        previous = turn.session.last_user_question()
        quoted = previous_citations(turn.session)
        if not previous or not quoted or not is_short(turn.text, turn.language):
            return alone, passages
        query = contextual_query(previous, turn.text)
        found, query = await self._search(query)
        answer = self._decide(turn.text, turn.language, found, quoted, query)
        entry = answer.passage
        if entry is None or not goes_on_with(turn.text, previous, entry, quoted):
            return alone, passages
        log.info("pipeline.follow_up", rewritten=True, elliptical=True, **turn.log_context)
        return answer, found

    def _decide(
        self,
        said: str,
        language: Language,
        passages: list[Passage],
        answered_before: Collection[str],
        asked: str,
    ) -> PolicyAnswer:
        named = self._products.names_in(said)
        ours = named if asked == said else [*named, *self._products.names_in(asked)]
        # "Is the Aurora Fold covered?" found as "is it covered?" is quoted, not sent the
        # curated answer
        reworded = asked != said and bool(named)
        return decide_answer(
            said,
            language,
            passages,
            self._thresholds,
            answered_before=answered_before,
            asked=asked,
            ours=ours,
            curated=not reworded,
        )

    async def _search(self, query: str) -> tuple[list[Passage], str]:
        """The passages for ``query`` and the query that found them: when it names one of the
        shop's products and finds nothing sure, the query with the name replaced by "it" may
        find better ones (the knowledge base speaks of products, not of each by name)."""
        with observe_step("retrieve"):
            hits = await asyncio.to_thread(self._knowledge.search, query, self._top_k)
            best = max((p.score for p in hits), default=0.0)
            generic = self._without_product_names(query) if best < self._thresholds.faq else None
            if generic is not None:
                others = await asyncio.to_thread(self._knowledge.search, generic, self._top_k)
                if max((p.score for p in others), default=0.0) > best:
                    return list(others), generic
        return list(hits), query

    def _without_product_names(self, query: str) -> str | None:
        """``query`` with the shop's product names replaced by "it", or None when it names
        none, or nothing else: a bare "Aurora X1" asks nothing, and "it" alone finds anything."""
        if not self._products.names_in(query):
            return None
        word = GENERIC_PRODUCT.get(detect_language(query), "it")
        generic = self._products.named_generically(query, word)
        return generic if set(subject_words(generic)) - {word} else None

    async def _retrieve(self, turn: Turn) -> tuple[list[Passage], str]:
        """The passages for this turn and the question they were found with (a follow-up is
        read with the previous question)."""
        passages, found_with = await self._search(turn.text)
        previous = turn.session.last_user_question()
        best = max((p.score for p in passages), default=0.0)
        follow_up = is_follow_up(turn.text, turn.language) or (
            best < self._thresholds.faq and may_follow_up(turn.text, turn.language)
        )
        # a follow-up ("平板呢") is read with the previous question even when it alone matches
        # something well: alone it matches whatever entry mentions its one word
        if not previous or (best >= self._thresholds.faq and not follow_up):
            return passages, found_with
        if self._llm is not None and (follow_up or best < self._thresholds.answer):
            # the model resolves "it"/"that one" the rules miss; it falls back to them itself
            query = await rewrite_question(
                self._llm, turn.text, turn.session.history(), prompt_language(turn.language)
            )
        elif follow_up:
            query = contextual_query(previous, turn.text)
        else:
            return passages, found_with
        log.info("pipeline.follow_up", rewritten=query != turn.text, **turn.log_context)
        if query == turn.text:
            return passages, found_with
        return await self._search(query)
