"""The answer policy: what the bot says from what the knowledge base found.

1. A curated FAQ entry matched with high confidence is answered directly.
2. Otherwise the best sentences of the best passage are quoted (the extractive mode;
   generative answers replace this step when an LLM is configured).
3. Below the relevance threshold the bot says it does not know and offers a human.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import jieba

from bot.dialogue.companies import foreign_subject
from bot.dialogue.questions import asked_for
from bot.dialogue.scope import (
    asks_for_the_same,
    asks_only,
    destinations,
    echoes_a_phrasing,
    faq_answers_it,
    holds_its_characters,
    names_no_subject,
    names_the_places,
    shares_a_term,
    shares_characters,
    subject_words,
)
from core.events import AnswerKind
from core.text import Language, detect_language
from core.types import Citation
from knowledge.folding import fold
from knowledge.types import Passage

LANGUAGE_MARGIN = 0.08
"""A hit in the customer's language wins over a slightly better one in the other language."""

INDIRECT_MATCH = 0.35
"""Calibrated relevance an entry needs when only the way it is asked (its question or an
alternative), not the quoted text, shares a word with the question. Below even odds because
the shared word is evidence of its own; high enough that "明天上海会下雨吗" (0.33 for the
next-day-delivery entry through 明天) stays "don't know". Checked on out-of-scope questions
written apart from the suite: none of 36 changed between 0.5 and 0.35."""
FAQ_TIE = 0.03
"""Calibrated scores this close do not tell two FAQ entries apart."""
MATCH_MARGIN = 0.05
"""Word-overlap (Jaccard) differences below this do not overrule the ranking."""

_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])|(?<=[.])\s+")
_WORD = re.compile(r"\w+")
_BARE_VERDICT = re.compile(
    r"^(yes|no|yep|nope|sure|of course|"
    r"能|不能|可以|不可以|是的|是|不是|有|没有|支持|不支持|对|当然)[.。!！,，]?$",
    re.IGNORECASE,
)
"""A sentence that only says yes or no: quoted from an entry that was not matched as *the*
answer, "能。" would answer a question the entry was never asked ("手机可以贴膜吗")."""


@dataclass(slots=True, frozen=True)
class Thresholds:
    faq: float
    answer: float


@dataclass(slots=True, frozen=True)
class PolicyAnswer:
    kind: AnswerKind
    text: str
    citations: tuple[Citation, ...] = ()
    confidence: float = 0.0
    passage: Passage | None = None


FOLLOW_UP_SENTENCES = 2
"""A follow-up ("and for laptops?") gets the sentences about what it changed, not the whole
answer again."""


def citation_for(passage: Passage, quote: str | None = None) -> Citation:
    """Where an answer came from, with the quoted text and, for a document, an anchor."""
    return Citation(
        source=passage.source,
        title=passage.title,
        section=passage.section,
        chunk_id=passage.chunk_id,
        score=round(passage.score, 4),
        doc_id=passage.doc_id,
        quote=quote,
        anchor=section_anchor(passage),
        kind=passage.kind,
    )


def section_anchor(passage: Passage) -> str | None:
    """``file#heading`` for a document section (the heading as Markdown renderers slug it),
    ``file#p-N`` style sections kept as they are; None for FAQ entries."""
    if passage.kind == "faq" or not passage.section:
        return None
    heading = passage.section.split(" > ")[-1].strip()
    slug = re.sub(r"[^\w\- ]", "", heading.casefold()).strip().replace(" ", "-")
    return f"{passage.source.rsplit('/', 1)[-1]}#{slug or heading}"


def passage_language(passage: Passage) -> Language:
    if passage.language in ("zh", "en"):
        return passage.language  # type: ignore[return-value]
    return detect_language(passage.text)


def question_match(question: str, passage: Passage) -> float:
    """How closely the customer's words match the FAQ's question or its closest alternative
    (Jaccard, 0..1)."""
    if passage.kind != "faq" or not passage.question:
        return 0.0
    asked = _terms(question)
    return max(jaccard(asked, _terms(phrasing)) for phrasing in passage.questions)


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def pick_passage(
    question: str,
    passages: Sequence[Passage],
    language: Language,
    asked: str | None = None,
    answered_before: Collection[str] = (),
) -> Passage | None:
    """The passage to answer from.

    Calibrated scores crowd near 1 for several good hits, so among the near-best ones the
    customer's language wins, then the one that names the place the question sends something
    to, then, for a follow-up that names nothing new ("要几天"), the entry the previous answer
    quoted (``answered_before``) when it holds the follow-up's one-character words (not for
    "能退吗" after the gift-card entry, which never says 退), then the FAQ whose question
    matches the customer's words best, then the fused ranking.
    """
    if not passages:
        return None
    best_score = max(p.score for p in passages)
    near = [p for p in passages if p.score >= best_score - LANGUAGE_MARGIN]
    in_language = [p for p in near if passage_language(p) == language] or near
    naming = naming_the_places(asked or question, in_language, passages, answered_before)
    in_language = naming or in_language
    if not subject_words(question):
        going_on = [
            p
            for p in in_language
            if p.chunk_id in answered_before and holds_its_characters(question, p)
        ]
        in_language = going_on or in_language
    matches = {p.chunk_id: question_match(question, p) for p in in_language}
    closest = max(matches.values())
    # a clearly closer wording wins; a hair's difference in word overlap leaves the ranking
    tied = [p for p in in_language if matches[p.chunk_id] >= closest - MATCH_MARGIN]
    return min(tied, key=lambda p: p.rank)


def naming_the_places(
    asked: str,
    near: Sequence[Passage],
    passages: Sequence[Passage],
    answered_before: Collection[str],
) -> list[Passage]:
    """The near-best entries that name the places ``asked`` sends something to ("寄到日本要多久":
    the entry that names Japan, not the one for every mainland city). A follow-up read with
    the previous question keeps its place: "how long would it take" after "do you ship to
    Japan" stays with the entry that answered for Japan (one of ``answered_before``), even when
    the general delivery times score higher."""
    places = destinations(asked)
    if not places:
        return []
    naming = [p for p in near if names_the_places(asked, places, p)]
    return naming or [
        p for p in passages if p.chunk_id in answered_before and names_the_places(asked, places, p)
    ]


def decide_answer(
    question: str,
    language: Language,
    passages: Sequence[Passage],
    thresholds: Thresholds,
    *,
    answered_before: Collection[str] = (),
    asked: str | None = None,
    ours: Collection[str] = (),
    curated: bool = True,
) -> PolicyAnswer:
    """Applies the answer policy to ranked passages (best first).

    Args:
        question: the customer's words (for a follow-up, the follow-up alone: the passages
            were found with the previous question added).
        answered_before: chunk ids the previous answer quoted, when ``question`` follows it
            up: if the best passage is one of them, only the sentences about what the
            follow-up changed are sent ("and for laptops?"), not the same answer again.
        asked: the question the passages were found with, when it was not ``question``
            (a follow-up read with the previous turn); what the answer must match.
        ours: the shop's product names the question uses (lower-cased): not another
            company's, though no passage names them.
        curated: False when ``asked`` is the customer's question reworded (a product named
            generically): then a curated FAQ answer would answer the rewording, so the
            passage is quoted instead.
    """
    asked = asked or question
    best = pick_passage(question, passages, language, asked, answered_before)
    # "多少钱" alone names no topic: any entry that matches it matches by chance
    unknown = foreign_subject(asked, passages, ours) or names_no_subject(asked)
    if best is None or best.score < thresholds.answer or unknown:
        confidence = best.score if best else 0.0
        return PolicyAnswer(AnswerKind.DONT_KNOW, "", confidence=confidence)
    follow_up = best.chunk_id in answered_before
    if (
        curated
        and not follow_up
        and best.answer
        and best.score >= thresholds.faq
        and faq_answers_it(asked, best)
        and not rival_faq(asked, best, passages)
    ):
        cited = citation_for(best, best.answer)
        return PolicyAnswer(AnswerKind.FAQ, best.answer, (cited,), best.score, best)
    limit = FOLLOW_UP_SENTENCES if follow_up else 3
    text = best_sentences(question, best.answer or best.text, limit)
    if not follow_up and not about_the_question(asked, best, text):
        return PolicyAnswer(AnswerKind.DONT_KNOW, "", confidence=best.score)
    return PolicyAnswer(AnswerKind.PASSAGE, text, (citation_for(best, text),), best.score, best)


def rival_faq(asked: str, best: Passage, passages: Sequence[Passage]) -> bool:
    """Is another FAQ entry in the same language as likely (within :data:`FAQ_TIE`), as well
    covered and asked about as closely (its closest phrasing within :data:`MATCH_MARGIN`)?
    Then which one the customer means is a guess, and a guess is quoted as a passage, not
    sent as the curated answer. "怎么开发票？" is the invoice entry's own question: the reissue
    entry scoring as high does not make it a guess."""
    language = passage_language(best)
    closest = question_match(asked, best)
    return any(
        p.chunk_id != best.chunk_id
        and p.kind == "faq"
        and (p.doc_id is None or p.doc_id != best.doc_id)
        and passage_language(p) == language
        and p.score >= best.score - FAQ_TIE
        and question_match(asked, p) >= closest - MATCH_MARGIN
        and faq_answers_it(asked, p)
        for p in passages
    )


def about_the_question(asked: str, passage: Passage, quote: str) -> bool:
    """Is a quote from ``passage`` about what was asked? It shares a content word with the
    question; or the FAQ entry is asked that way (its question or an alternative shares one, or
    two one-character words: 坏, 换, 新; or the customer's words hold most of a phrasing:
    "买了个手表不想要了，能退吗" holds "不想要了能退吗") and the match is likely enough
    (``score`` >= :data:`INDIRECT_MATCH`): a colloquial "还来得及退不" finds the returns
    entry through an alternative, while "明天上海会下雨吗" must not get the next-day-delivery
    entry for sharing "明天". A place something is sent to
    (:func:`~bot.dialogue.scope.destinations`) is a detail the quote need not share."""
    places = destinations(asked)
    if places and set(subject_words(asked)) <= places:
        # "寄到日本要多久" is about the entry that names Japan; "寄到北京要几天" asks only how
        # long, so an entry that does not name Beijing must answer that kind of question
        wanted = asked_for(asked) and asks_for_the_same(asked, passage)
        return names_the_places(asked, places, passage) or bool(wanted)
    if shares_a_term(asked, quote, ignoring=places):
        return True
    phrasings = "\n".join(passage.questions)
    asked_that_way = (
        shares_a_term(asked, phrasings)
        or shares_characters(asked, phrasings)
        or echoes_a_phrasing(asked, passage.questions)
    )
    return bool(passage.questions) and asked_that_way and passage.score >= INDIRECT_MATCH


def split_sentences(text: str) -> list[str]:
    lines = [line.strip(" #-*\t") for line in text.splitlines()]
    sentences: list[str] = []
    for line in lines:
        sentences.extend(s.strip() for s in _SENTENCE_END.split(line) if s and s.strip())
    return sentences


def _terms(text: str) -> set[str]:
    """The words that can tell two phrasings apart: not "多少" or "怎么" (every question asks
    with them: "银卡要消费多少" is not closer to "满多少包邮" for sharing 多少)."""
    text = fold(text)
    words = set(_WORD.findall(text))
    words.update(t for t in jieba.lcut(text) if len(t.strip()) > 1)
    return {w for w in words if not asks_only(w)}


def best_sentences(question: str, text: str, limit: int = 3) -> str:
    """Up to ``limit`` sentences of ``text`` that share the most words with the question,
    in their original order, so the quote reads naturally; not a bare "Yes." or "能。"."""
    sentences = split_sentences(text)
    # a quote is evidence, not a verdict: the curated "能。" answered the FAQ's question
    sentences = [s for s in sentences if not _BARE_VERDICT.match(s)] or sentences
    if len(sentences) <= limit:
        return " ".join(sentences) if sentences else text.strip()
    wanted = _terms(question)
    scored = sorted(
        range(len(sentences)),
        key=lambda i: (-len(wanted & _terms(sentences[i])), i),
    )
    chosen = sorted(scored[:limit])
    joiner = "" if detect_language(text) == "zh" else " "
    return joiner.join(sentences[i] for i in chosen)
