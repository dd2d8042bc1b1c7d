"""FAQ additions as one knowledge source: ids, and the chunks' input built from database rows.

All additions form the source ``kb_additions.jsonl`` (the file they lived in before the
database): chunk ids derive from the source name and content, so keeping the name keeps every
chunk id, and nothing is embedded again on upgrade.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence

from core.errors import InputError
from core.text import detect_language
from knowledge.loaders import FaqEntry, LoadedSource
from knowledge.loaders.faq import question_key
from knowledge.state.store import Addition

ADDITIONS_SOURCE = "kb_additions.jsonl"
"""Source name of every FAQ addition, in citations and in ``/kb delete``."""

ADDITION_PREFIX = "added-"


def addition_id(question: str) -> str:
    """``added-<sha1>`` of the normalised question: re-adding a question replaces its answer."""
    return ADDITION_PREFIX + hashlib.sha1(question_key(question).encode()).hexdigest()[:10]


def new_addition(question: str, answer: str, category: str | None = None) -> Addition:
    """An addition from an admin's or a reviewer's question and answer.

    Raises:
        InputError: Empty question or answer.
    """
    question, answer = question.strip(), answer.strip()
    if not question or not answer:
        raise InputError("an FAQ entry needs a question and an answer")
    return Addition(
        id=addition_id(question),
        question=question,
        answer=answer,
        category=category,
        language=detect_language(question),
    )


def is_addition(additions: Sequence[Addition], entry: str) -> bool:
    """Does ``entry`` (an id or a question) name one of ``additions``?"""
    key = question_key(entry)
    return any(entry.strip() == a.id or question_key(a.question) == key for a in additions)


def with_alternative(additions: Sequence[Addition], entry: str, phrasing: str) -> Addition:
    """The addition ``entry`` names (its id, or its question) with ``phrasing`` among its
    alternatives (unchanged when it is already one of its phrasings).

    Raises:
        InputError: An empty phrasing, or no addition with that id or question.
    """
    phrasing = phrasing.strip()
    if not phrasing:
        raise InputError("an alternative phrasing cannot be empty")
    key = question_key(entry)
    found = next(
        (a for a in additions if entry.strip() == a.id or question_key(a.question) == key), None
    )
    if found is None:
        raise InputError(f"no added FAQ entry {entry.strip()!r} (use its added-… id or question)")
    known = {question_key(q) for q in (found.question, *found.alternatives)}
    if question_key(phrasing) in known:
        return found
    return dataclasses.replace(found, alternatives=(*found.alternatives, phrasing))


def additions_source(additions: Sequence[Addition]) -> LoadedSource:
    """What a loader would have made of the additions file: one FAQ entry per addition."""
    entries = tuple(
        FaqEntry(
            question=a.question,
            answer=a.answer,
            faq_id=a.id,
            category=a.category,
            language=a.language,
            alternatives=a.alternatives,
        )
        for a in additions
    )
    return LoadedSource(source=ADDITIONS_SOURCE, title="kb_additions", faqs=entries)


def additions_digest(additions: Sequence[Addition]) -> str:
    """Content hash of the additions, the manifest's ``sha256`` for their source."""
    rows = [
        [
            a.id,
            a.question,
            a.answer,
            a.category,
            a.language,
            *([list(a.alternatives)] if a.alternatives else []),
        ]
        for a in additions
    ]
    payload = json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
