"""Test conversations and what each turn must get: the format of ``kefu eval dialogues``.

A suite is a YAML (or JSON lines) file of conversations; each turn says what must happen::

    conversations:
      - id: refund-to-alipay
        user: alice                # optional: whose orders the conversation can see
        turns:
          - say: 退到支付宝要等几天
            expect: answer         # answered from one of the sources, citing it
            sources: [returns-refund-timing, returns-and-refunds.md]
            facts: ["1-3"]         # each must appear in the reply ("a|b": either)
          - say: 火星快递的退货政策呢
            expect: dont_know      # "don't know" with a way to a human
          - say: 我的订单DD20241101到哪了
            expect: order
            order: DD20241101

``expect`` is one of ``answer``, ``dont_know``, ``handoff``, ``slot`` (``slot: order_no``),
``order`` (``order: DD...``), ``small_talk`` or ``any`` (a setup turn nothing is asked of).
A source is an FAQ id (with or without its ``-zh``/``-en`` suffix), a document's file name, or
``file#section`` (the cited section must contain that text).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from core.errors import InputError

ANSWERED_KINDS = frozenset({"faq", "passage", "generated"})
HUMAN_PAYLOADS = frozenset({"转人工", "human"})


class Expect(StrEnum):
    ANSWER = "answer"
    DONT_KNOW = "dont_know"
    HANDOFF = "handoff"
    SLOT = "slot"
    ORDER = "order"
    SMALL_TALK = "small_talk"
    ANY = "any"


CATEGORY = {
    Expect.ANSWER: "answerable",
    Expect.DONT_KNOW: "unanswerable",
    Expect.HANDOFF: "handoff",
    Expect.SLOT: "order_flow",
    Expect.ORDER: "order_flow",
    Expect.SMALL_TALK: "small_talk",
}


@dataclass(slots=True, frozen=True)
class ExpectedTurn:
    say: str
    expect: Expect
    sources: tuple[str, ...] = ()
    facts: tuple[str, ...] = ()
    slot: str | None = None
    order: str | None = None
    note: str | None = None

    @property
    def category(self) -> str | None:
        return CATEGORY.get(self.expect)


@dataclass(slots=True, frozen=True)
class TestConversation:
    id: str
    turns: tuple[ExpectedTurn, ...]
    user: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(slots=True, frozen=True)
class Reply:
    """What the bot said in one turn, as the channels see it (REST JSON shape)."""

    text: str
    answer_kind: str | None
    citations: tuple[Mapping[str, Any], ...] = ()
    buttons: tuple[str, ...] = ()
    custom: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True, frozen=True)
class Verdict:
    passed: bool
    confident_wrong: bool = False
    reason: str = ""


def load_suite(path: Path) -> list[TestConversation]:
    """Reads a suite file (``.yaml``/``.yml``, else JSON lines, one conversation a line).

    Raises:
        InputError: the file cannot be read or a conversation is malformed.
    """
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() in (".yaml", ".yml"):
            data = yaml.safe_load(text) or {}
            items = data.get("conversations", []) if isinstance(data, dict) else data
        else:
            items = [json.loads(line) for line in text.splitlines() if line.strip()]
    except (OSError, yaml.YAMLError, json.JSONDecodeError) as error:
        raise InputError(f"cannot read {path}: {error}") from error
    if not isinstance(items, list) or not items:
        raise InputError(f"{path} has no conversations")
    conversations = [parse_conversation(item, index) for index, item in enumerate(items)]
    ids = [c.id for c in conversations]
    if len(set(ids)) != len(ids):
        raise InputError(f"{path}: conversation ids must be unique")
    return conversations


def parse_conversation(item: Any, index: int) -> TestConversation:
    if not isinstance(item, dict) or not isinstance(item.get("turns"), list):
        raise InputError(f"conversation {index}: needs a list of turns")
    conv_id = str(item.get("id") or f"conversation-{index + 1}")
    turns = tuple(_parse_turn(turn, conv_id) for turn in item["turns"])
    if not turns:
        raise InputError(f"{conv_id}: no turns")
    user = item.get("user")
    return TestConversation(conv_id, turns, str(user) if user else None, _strings(item, "tags"))


def _parse_turn(item: Any, conv_id: str) -> ExpectedTurn:
    if not isinstance(item, dict) or not isinstance(item.get("say"), str):
        raise InputError(f"{conv_id}: every turn needs 'say'")
    try:
        expect = Expect(str(item.get("expect", "any")))
    except ValueError as error:
        raise InputError(f"{conv_id}: unknown expect {item.get('expect')!r}") from error
    turn = ExpectedTurn(
        say=item["say"],
        expect=expect,
        sources=_strings(item, "sources"),
        facts=_strings(item, "facts"),
        slot=item.get("slot"),
        order=item.get("order"),
        note=item.get("note"),
    )
    if expect is Expect.ANSWER and not turn.sources:
        raise InputError(f"{conv_id}: an 'answer' turn names its sources: {turn.say!r}")
    return turn


def _strings(item: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = item.get(name) or ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def source_matches(expected: str, citation: Mapping[str, Any]) -> bool:
    """Does one expected source name the cited entry?"""
    name, _, section = expected.partition("#")
    doc_id = str(citation.get("doc_id") or "")
    if doc_id and doc_id in (name, f"{name}-zh", f"{name}-en"):
        return True
    source = str(citation.get("source") or "")
    if not source or Path(source).name != name:
        return False
    return not section or section.casefold() in str(citation.get("section") or "").casefold()


def cites_one_of(sources: Sequence[str], reply: Reply) -> bool:
    return any(source_matches(s, c) for s in sources for c in reply.citations)


def missing_facts(facts: Sequence[str], text: str) -> list[str]:
    folded = text.casefold()
    return [
        fact for fact in facts if not any(part.casefold() in folded for part in fact.split("|"))
    ]


def offers_human(reply: Reply) -> bool:
    return any(payload in HUMAN_PAYLOADS for payload in reply.buttons)


def judge(turn: ExpectedTurn, replies: Sequence[Reply]) -> Verdict:
    """Whether the bot's replies to one turn are what the turn expects."""
    if turn.expect is Expect.ANY:
        return Verdict(True)
    first = replies[0] if replies else Reply("", None)
    kind = first.answer_kind
    text = "\n".join(r.text for r in replies)
    if turn.expect is Expect.ANSWER:
        return _judge_answer(turn, first, text)
    if kind == "faq":  # a curated answer where none was right
        return Verdict(False, True, f"FAQ answer {_cited(first)} where {turn.expect} was due")
    if turn.expect is Expect.DONT_KNOW:
        if kind == "handoff" or (kind == "dont_know" and offers_human(first)):
            return Verdict(True)
        return Verdict(False, reason=f"{kind} {_cited(first)} instead of don't know + human")
    if turn.expect is Expect.HANDOFF:
        return Verdict(kind == "handoff", reason=f"{kind} instead of a handoff")
    if turn.expect is Expect.SLOT:
        ok = kind == "slot_prompt" and first.custom.get("slot") == (turn.slot or "order_no")
        return Verdict(ok, reason=f"{kind} instead of asking for {turn.slot or 'order_no'}")
    if turn.expect is Expect.ORDER:
        return _judge_order(turn, first, text)
    return Verdict(kind == "small_talk", reason=f"{kind} instead of small talk")


def _judge_answer(turn: ExpectedTurn, first: Reply, text: str) -> Verdict:
    kind = first.answer_kind
    if kind not in ANSWERED_KINDS:
        return Verdict(False, reason=f"{kind} instead of an answer")
    if not cites_one_of(turn.sources, first):
        wrong = kind == "faq"
        return Verdict(False, wrong, f"{kind} from {_cited(first)}, wanted {list(turn.sources)}")
    missing = missing_facts(turn.facts, text)
    if missing:
        return Verdict(False, reason=f"right source, but {missing} not in the reply")
    return Verdict(True)


def _judge_order(turn: ExpectedTurn, first: Reply, text: str) -> Verdict:
    if first.answer_kind != "tool" or (turn.order and first.custom.get("order_no") != turn.order):
        got = f"{first.answer_kind} {first.custom.get('order_no') or ''}".strip()
        return Verdict(False, reason=f"{got} instead of order {turn.order}")
    missing = missing_facts(turn.facts, text)
    return Verdict(not missing, reason=f"order answered without {missing}" if missing else "")


def _cited(reply: Reply) -> str:
    if not reply.citations:
        return "(no citation)"
    c = reply.citations[0]
    return str(c.get("doc_id") or f"{Path(str(c.get('source'))).name}#{c.get('section') or ''}")
