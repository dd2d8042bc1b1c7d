"""Reading one conversation's event log: questions, answers, ratings and earlier turns.

Pure functions over :class:`EventRecord` lists, shared by candidate derivation, the dataset
export and the report, so all three agree on what "a question" and "a rated answer" are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from core.events import AnswerKind, EventKind
from core.storage import EventRecord

KNOWLEDGE_ANSWERS = frozenset({AnswerKind.FAQ, AnswerKind.PASSAGE, AnswerKind.GENERATED})
"""Answers taken from the knowledge base: these get 👍/👎 and can become training data."""

_NOT_CONTEXT = frozenset(
    {AnswerKind.DONT_KNOW, AnswerKind.ERROR, AnswerKind.ADMIN, AnswerKind.REFUSAL}
)


def answer_kind(event: EventRecord) -> str | None:
    kind = event.payload.get("answer_kind")
    return kind if isinstance(kind, str) else None


def is_knowledge_answer(event: EventRecord) -> bool:
    return event.kind == EventKind.BOT_REPLY and answer_kind(event) in KNOWLEDGE_ANSWERS


def is_command_text(text: str | None) -> bool:
    return bool(text) and str(text).lstrip().startswith("/")


def is_question(events: Sequence[EventRecord], index: int) -> bool:
    """Whether ``events[index]`` is a customer question: a message that is neither a command
    nor the reason given for a 👎 (a reason is followed at once by its FEEDBACK event)."""
    event = events[index]
    if event.kind != EventKind.USER_MESSAGE or not (event.text or "").strip():
        return False
    if is_command_text(event.text):
        return False
    following = events[index + 1] if index + 1 < len(events) else None
    return following is None or following.kind != EventKind.FEEDBACK


@dataclass(slots=True, frozen=True)
class Rating:
    """The latest 👍/👎 a customer gave one bot reply (a later rating replaces an earlier one)."""

    reply_event_id: int
    rating: str
    reason: str | None
    event: EventRecord


def latest_ratings(events: Sequence[EventRecord]) -> dict[int, Rating]:
    """Each rated reply's final rating; a reason given later is kept with the same rating."""
    ratings: dict[int, Rating] = {}
    for event in events:
        if event.kind != EventKind.FEEDBACK:
            continue
        reply_id = event.payload.get("reply_event_id")
        rating = event.payload.get("rating")
        if not isinstance(reply_id, int) or rating not in ("up", "down"):
            continue
        reason = event.payload.get("reason") or None
        previous = ratings.get(reply_id)
        if reason is None and previous is not None and previous.rating == rating:
            reason = previous.reason
        ratings[reply_id] = Rating(reply_id, str(rating), reason, event)
    return ratings


def question_of_replies(events: Sequence[EventRecord]) -> dict[int, int]:
    """Maps each bot reply's event id to the index (in ``events``) of the question it answered:
    the latest customer question before it, for the first reply after that question."""
    answered: dict[int, int] = {}
    last_question: int | None = None
    for index, event in enumerate(events):
        if event.kind == EventKind.USER_MESSAGE:
            last_question = index if is_question(events, index) else None
        elif event.kind == EventKind.BOT_REPLY and last_question is not None:
            answered[event.id] = last_question
            last_question = None
    return answered


def context_before(
    events: Sequence[EventRecord], index: int, *, turns: int, gap: timedelta
) -> list[dict[str, Any]]:
    """Up to ``turns`` earlier messages of the same visit, oldest first, as chat turns.

    A visit ends where two messages are more than ``gap`` apart. Commands, 👎 reasons and the
    bot's "I don't know"/error replies are left out: they teach a model nothing worth copying.
    Consecutive messages of one role are joined, and the context starts with the customer.
    """
    if turns <= 0:
        return []
    picked: list[dict[str, Any]] = []
    newer = events[index].created_at
    for position in range(index - 1, -1, -1):
        event = events[position]
        if newer - event.created_at > gap:
            break
        newer = event.created_at
        role = _context_role(events, position)
        if role is not None:
            picked.append({"role": role, "content": (event.text or "").strip()})
        if len(picked) > 4 * turns:
            break
    merged = _merge_roles(list(reversed(picked)))[-turns:]
    while merged and merged[0]["role"] != "user":
        merged.pop(0)
    return merged


def _context_role(events: Sequence[EventRecord], position: int) -> str | None:
    event = events[position]
    if not (event.text or "").strip():
        return None
    if event.kind == EventKind.USER_MESSAGE:
        return "user" if is_question(events, position) else None
    if event.kind == EventKind.AGENT_MESSAGE:
        return "assistant"
    if event.kind == EventKind.BOT_REPLY and answer_kind(event) not in _NOT_CONTEXT:
        return "assistant" if answer_kind(event) is not None else None
    return None


def _merge_roles(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    merged: list[dict[str, Any]] = []
    for turn in turns:
        if merged and merged[-1]["role"] == turn["role"]:
            merged[-1] = {**merged[-1], "content": f"{merged[-1]['content']}\n{turn['content']}"}
        else:
            merged.append(dict(turn))
    while merged and merged[0]["role"] != "user":
        merged.pop(0)
    # The example's own question follows: the context must end with an assistant turn.
    while merged and merged[-1]["role"] != "assistant":
        merged.pop()
    return merged
