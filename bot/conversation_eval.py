"""``kefu eval dialogues``: runs test conversations through the real pipeline and scores them.

Each conversation is its own thread of one customer on the REST channel, on a temporary SQLite
database (the configured one is never written), with the configured knowledge base, intents
and LLM. The report has a rate per category, the confident-wrong count (a curated FAQ answer
from a source the turn does not allow) and every failed turn.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.app import Kefu
from bot.dialogue.conversation_suite import (
    ExpectedTurn,
    Reply,
    TestConversation,
    Verdict,
    judge,
    load_suite,
)
from core.settings import KefuSettings
from core.types import ConversationKey, IncomingMessage, OutgoingMessage

DEFAULT_USER = "eval"
REPLY_EXCERPT = 160


@dataclass(slots=True, frozen=True)
class TurnResult:
    conversation: str
    index: int
    turn: ExpectedTurn
    replies: tuple[Reply, ...]
    verdict: Verdict


def as_reply(message: OutgoingMessage) -> Reply:
    custom = dict(message.custom)
    return Reply(
        text=message.text,
        answer_kind=str(custom.get("answer_kind")) if custom.get("answer_kind") else None,
        citations=tuple(c.to_json() for c in message.citations),
        buttons=tuple(b.payload for b in message.buttons),
        custom=custom,
    )


async def run_conversation(kefu: Kefu, conversation: TestConversation) -> list[TurnResult]:
    user = conversation.user or DEFAULT_USER
    key = ConversationKey("rest", user, user, thread_id=conversation.id)
    results = []
    for index, turn in enumerate(conversation.turns):
        message = IncomingMessage(f"{conversation.id}-{index}", key, turn.say)
        replies = tuple(as_reply(m) for m in await kefu.handle(message))
        results.append(TurnResult(conversation.id, index, turn, replies, judge(turn, replies)))
    return results


def summarize(results: Sequence[TurnResult], seconds: float) -> dict[str, Any]:
    """Rates per category, the confident-wrong count and the failures."""
    total: Counter[str] = Counter()
    passed: Counter[str] = Counter()
    for result in results:
        category = result.turn.category
        if category is None:
            continue
        total[category] += 1
        passed[category] += result.verdict.passed
    rates = {name: round(passed[name] / total[name], 4) for name in sorted(total)}
    failures = [_failure(r) for r in results if not r.verdict.passed]
    return {
        "conversations": len({r.conversation for r in results}),
        "turns": len(results),
        "checked_turns": sum(total.values()),
        "answerable_correct_cited": rates.get("answerable"),
        "unanswerable_dont_know_human": rates.get("unanswerable"),
        "order_flows_correct": rates.get("order_flow"),
        "confident_wrong": sum(r.verdict.confident_wrong for r in results),
        "rates": rates,
        "counts": {name: [passed[name], total[name]] for name in sorted(total)},
        "seconds": round(seconds, 1),
        "failures": failures,
    }


def _failure(result: TurnResult) -> dict[str, Any]:
    first = result.replies[0] if result.replies else None
    return {
        "conversation": result.conversation,
        "turn": result.index + 1,
        "say": result.turn.say,
        "expect": result.turn.expect.value,
        "reason": result.verdict.reason,
        "confident_wrong": result.verdict.confident_wrong,
        "reply": (first.text[:REPLY_EXCERPT] if first else ""),
    }


def eval_settings(settings: KefuSettings, work_dir: Path) -> KefuSettings:
    """A copy of ``settings`` on ``work_dir`` with a throwaway SQLite database; the knowledge
    index is copied from the configured data folder when there is one (no re-embedding)."""
    data_dir = work_dir / "data"
    index = settings.data_dir
    if index.is_dir():
        shutil.copytree(index, data_dir, ignore=shutil.ignore_patterns("kefu.db*"))
    copy = settings.model_copy(deep=True)
    copy.data_dir = data_dir
    copy.storage.database_url = None
    copy.rate_limit_per_minute = 1_000_000  # one "customer" says hundreds of things a minute
    return copy


async def run_suite(
    settings: KefuSettings, conversations: Sequence[TestConversation]
) -> dict[str, Any]:
    """Runs every conversation on a fresh temporary bot and returns :func:`summarize`'s report."""
    with tempfile.TemporaryDirectory(prefix="kefu-dialogues-") as folder:
        kefu = await Kefu.create(eval_settings(settings, Path(folder)), configure_logs=False)
        try:
            started = time.perf_counter()
            results: list[TurnResult] = []
            for conversation in conversations:
                results.extend(await run_conversation(kefu, conversation))
            return summarize(results, time.perf_counter() - started)
        finally:
            await kefu.close()


async def run_suite_file(settings: KefuSettings, path: Path) -> dict[str, Any]:
    """Loads ``path`` (see :mod:`bot.dialogue.conversation_suite`) and runs it.

    Raises:
        InputError: the file is not a valid suite.
    """
    return await run_suite(settings, load_suite(path))
