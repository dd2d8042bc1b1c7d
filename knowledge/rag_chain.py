"""The grounded answer chain: passages + conversation + question -> cited answer.

Built from LangChain runnables (``build messages | generate | parse``) over a
:class:`core.llm.base.ChatBackend`. The model answers only from the numbered passages and cites
them as ``[n]``; the parsed answer tells the caller which passages were cited (so the right
:class:`core.types.Citation` objects go with it) and whether the model said it does not know.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from langchain_core.runnables import Runnable, RunnableLambda, RunnablePassthrough

from core.errors import LLMError
from core.llm.base import ChatBackend, ChatMessage, closing_stream
from core.telemetry.llm_calls import llm_purpose
from core.types import Citation, StreamSink
from knowledge.prompts import (
    DONT_KNOW,
    MAX_TURN_CHARS,
    History,
    Language,
    build_grounded_messages,
    recent_turns,
    rewrite_system_prompt,
    rewrite_user_turn,
    speaker_role,
)
from knowledge.types import Passage

log = structlog.get_logger(__name__)


@dataclass(slots=True, frozen=True)
class GroundedAnswer:
    """The model's answer, with ``[n]`` markers pointing into the passages it was given."""

    text: str
    cited_indices: tuple[int, ...]
    """0-based positions in ``passages`` that the answer cites, in order of first citation."""
    dont_know: bool
    """The model said the passages do not answer the question (and cited nothing)."""

    @property
    def substantive(self) -> bool:
        """False for an "answer" that is only citation markers, punctuation or a word or two
        (small models do this); the caller should answer extractively instead."""
        return self.dont_know or has_substance(self.text)

    def citations(self, passages: Sequence[Passage]) -> tuple[Citation, ...]:
        """The cited passages as :class:`Citation` objects for the outgoing message."""
        return tuple(
            Citation(
                source=passages[i].source,
                title=passages[i].title,
                section=passages[i].section,
                chunk_id=passages[i].chunk_id,
                score=passages[i].score,
                doc_id=passages[i].doc_id,
                kind=passages[i].kind,
            )
            for i in self.cited_indices
        )


_CITATION = re.compile(
    r"[\[【［]\s*(?:资料|来源|passage|source|doc)?\s*(\d{1,3}(?:\s*[,，、]\s*\d{1,3})*)\s*[\]】］]",
    re.IGNORECASE,
)
_DONT_KNOW_SIGNS = (
    "没有找到",
    "未找到",
    "无法回答",
    "不知道",
    "没有相关",
    "没有提到",
    "没有提及",
    "couldn't find",
    "could not find",
    "don't know",
    "do not know",
    "not in our documentation",
    "no information",
    "not mentioned",
)


_CJK = re.compile(r"[\u4e00-\u9fff]")
_WORD = re.compile(r"[A-Za-z0-9]+")


def has_substance(text: str) -> bool:
    """Whether ``text`` says something once citation markers are left out: at least four
    Chinese characters or three words (two characters and a word for mixed text)."""
    bare = _CITATION.sub(" ", text)
    cjk, words = len(_CJK.findall(bare)), len(_WORD.findall(bare))
    return cjk >= 4 or words >= 3 or (cjk >= 2 and words >= 1)


def parse_grounded_answer(text: str, passage_count: int) -> GroundedAnswer:
    """Finds the cited passages, normalises markers to ``[n]`` and drops invented ones.

    ``[1, 3]``, ``【2】`` and ``[资料1]`` become ``[1][3]``, ``[2]``, ``[1]``; numbers outside
    the passages are removed from the text, so a customer never sees a source that is not
    there.
    """
    cited: list[int] = []

    def normalise(match: re.Match[str]) -> str:
        numbers = [int(n) for n in re.findall(r"\d+", match.group(1))]
        valid = [n for n in numbers if 1 <= n <= passage_count]
        for n in valid:
            if n - 1 not in cited:
                cited.append(n - 1)
        return "".join(f"[{n}]" for n in valid)

    cleaned = _CITATION.sub(normalise, text).strip()
    lowered = cleaned.lower()
    says_so = any(sign in lowered for sign in _DONT_KNOW_SIGNS) or any(
        phrase.lower() in lowered for phrase in DONT_KNOW.values()
    )
    return GroundedAnswer(cleaned, tuple(cited), dont_know=not cited and (says_so or not cleaned))


async def _generate(
    backend: ChatBackend,
    messages: Sequence[ChatMessage],
    stream_to: StreamSink | None,
    max_tokens: int | None,
) -> str:
    if stream_to is None:
        return (await backend.complete(messages, max_tokens=max_tokens)).text
    pieces = []
    async with closing_stream(backend.stream(messages, max_tokens=max_tokens)) as stream:
        async for piece in stream:
            pieces.append(piece)
            await stream_to(piece)
    return "".join(pieces)


def grounded_chain(
    backend: ChatBackend,
    *,
    stream_to: StreamSink | None = None,
    max_tokens: int | None = None,
    company: str | None = None,
) -> Runnable[dict[str, Any], GroundedAnswer]:
    """``{"question", "history", "passages", "language"}`` -> :class:`GroundedAnswer`.

    Call with ``await chain.ainvoke(...)``; the generate step is async only.
    """

    def build(request: dict[str, Any]) -> list[ChatMessage]:
        return build_grounded_messages(
            request["question"],
            request["history"],
            request["passages"],
            request["language"],
            company=company,
        )

    async def generate(request: dict[str, Any]) -> str:
        return await _generate(backend, request["messages"], stream_to, max_tokens)

    def parse(request: dict[str, Any]) -> GroundedAnswer:
        return parse_grounded_answer(request["text"], len(request["passages"]))

    return (
        RunnablePassthrough.assign(messages=RunnableLambda(build))
        | RunnablePassthrough.assign(text=RunnableLambda(generate))
        | RunnableLambda(parse)
    )


async def generate_grounded_answer(
    backend: ChatBackend,
    question: str,
    history: History,
    passages: Sequence[Passage],
    language: Language,
    *,
    stream_to: StreamSink | None = None,
    max_tokens: int | None = None,
    company: str | None = None,
) -> GroundedAnswer:
    """Answers ``question`` from ``passages`` only, citing them by number.

    With no passages the model is not called: the answer is the don't-know sentence.

    Args:
        backend: the chat model.
        question: the customer's message as they wrote it.
        history: the conversation before it (the last few turns are used).
        passages: retrieved passages, best first; ``[n]`` in the answer is ``passages[n-1]``.
        language: the customer's language; the reply is in it.
        stream_to: awaited with each text piece as it is generated (the web chat's socket).
        max_tokens: cap on the answer length; default from the backend's settings.
        company: the company's name for the system prompt.

    Raises:
        LLMError: the model failed or timed out; fall back to the extractive answer.
    """
    if not passages:
        text = DONT_KNOW[language]
        if stream_to is not None:
            await stream_to(text)
        return GroundedAnswer(text, (), dont_know=True)
    chain = grounded_chain(backend, stream_to=stream_to, max_tokens=max_tokens, company=company)
    request = {"question": question, "history": history, "passages": passages, "language": language}
    answer: GroundedAnswer = await chain.ainvoke(request)
    log.info(
        "rag.answered",
        cited=len(answer.cited_indices),
        dont_know=answer.dont_know,
        backend=backend.name,
    )
    return answer


_FOLLOW_UP = re.compile(
    r"^(?:那|这|它|他们|她|还有|那么|那个|这个|如果|要是)|(?:呢|吗)[？?]?$"
    r"|\b(?:it|that|this|they|them|those|these|what about|and if|how about)\b",
    re.IGNORECASE,
)


def heuristic_standalone(question: str, history: History) -> str:
    """Without a model: a short or referring follow-up is joined to the previous question."""
    previous = [text for role, text in history if speaker_role(role) == "user"]
    if not previous:
        return question
    short = (
        len(question) <= 12
        if re.search(r"[\u4e00-\u9fff]", question)
        else len(question.split()) <= 5
    )
    if short or _FOLLOW_UP.search(question.strip()):
        return f"{previous[-1].strip()} {question.strip()}"
    return question


async def rewrite_question(
    backend: ChatBackend | None, question: str, history: History, language: Language
) -> str:
    """A follow-up rewritten as a standalone question for retrieval.

    Uses the model when there is one and falls back to :func:`heuristic_standalone` when there
    is none, when it fails, or when its output does not look like a question rewrite. Never
    raises for model failures: rewriting only improves retrieval.
    """
    recent = recent_turns(history)
    if not recent:
        return question
    if backend is None:
        return heuristic_standalone(question, recent)
    messages = [
        ChatMessage("system", rewrite_system_prompt(language)),
        ChatMessage("user", rewrite_user_turn(question, recent, language, MAX_TURN_CHARS)),
    ]
    try:
        with llm_purpose("rewrite"):
            result = await backend.complete(messages, max_tokens=128)
    except LLMError as e:
        log.info("rag.rewrite.fallback", reason=str(e))
        return heuristic_standalone(question, recent)
    return _clean_rewrite(result.text, question) or heuristic_standalone(question, recent)


_REWRITE_LABEL = re.compile(
    r"^(?:改写后的问题|问题|standalone question|question)\s*[:：]\s*", re.IGNORECASE
)


def _clean_rewrite(text: str, question: str) -> str | None:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return None
    line = _REWRITE_LABEL.sub("", lines[0])
    line = line.strip("\"'“”‘’「」 ")
    if not line or len(line) > 3 * len(question) + 120:
        return None
    return line
