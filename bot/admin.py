"""Admin slash commands, the same on every channel: ``/kb ...`` and ``/help``."""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Protocol

import structlog

from bot.texts import say
from core.errors import KefuError
from core.text import Language
from core.types import ConversationKey, OutgoingMessage
from knowledge.types import IngestReport, KBStats, Passage

log = structlog.get_logger(__name__)

Deliver = Callable[[ConversationKey, OutgoingMessage], Awaitable[object]]


class KnowledgeAdmin(Protocol):
    """What admin commands need from the knowledge base."""

    def reload(self) -> IngestReport: ...
    def stats(self) -> KBStats: ...
    def search(self, query: str, k: int = 5) -> list[Passage]: ...
    def add_faq(self, question: str, answer: str, category: str | None = None) -> str: ...
    def add_alternative(self, entry: str, phrasing: str) -> str: ...
    def delete_source(self, source: str) -> int: ...


@dataclass(slots=True, frozen=True)
class AdminResult:
    command: str
    replies: list[OutgoingMessage]


def is_command(text: str) -> bool:
    return text.startswith("/") and len(text) > 1 and not text.startswith("//")


def parse_command(text: str) -> tuple[str, str]:
    """``"/kb search 退货"`` -> ``("kb search", "退货")``; ``"/help"`` -> ``("help", "")``."""
    head, _, rest = text[1:].strip().partition(" ")
    head = head.split("@")[0]  # Telegram appends @botname in groups
    if head == "kb":
        sub, _, rest = rest.strip().partition(" ")
        return (f"kb {sub}" if sub else "kb"), rest.strip()
    return head, rest.strip()


def format_report(report: IngestReport, language: Language) -> str:
    failed = "".join(f"\n  ✗ {src}: {why}" for src, why in report.failed.items())
    return say("admin.kb.reloaded", language, **{**asdict(report), "failed": failed})


class AdminCommands:
    """Runs admin commands; the caller has already checked that the sender is an admin."""

    def __init__(self, knowledge: KnowledgeAdmin, deliver: Deliver) -> None:
        self._kb = knowledge
        self._deliver = deliver
        self._reload_task: asyncio.Task[None] | None = None

    async def run(self, key: ConversationKey, text: str, language: Language) -> AdminResult:
        name, argument = parse_command(text)
        handler = {
            "help": self._help,
            "kb reload": self._reload,
            "kb stats": self._stats,
            "kb search": self._search,
            "kb add": self._add,
            "kb alias": self._alias,
            "kb delete": self._delete,
        }.get(name)
        if handler is None:
            unknown = say("admin.unknown", language, help=say("admin.help", language))
            return AdminResult(name, [OutgoingMessage(unknown)])
        try:
            reply = await handler(key, argument, language)
        except KefuError as error:
            log.warning("admin.command_failed", command=name, error=str(error))
            reply = say("admin.failed", language, error=error)
        return AdminResult(name, [OutgoingMessage(reply, custom={"admin_command": name})])

    async def _help(self, key: ConversationKey, arg: str, language: Language) -> str:
        return say("admin.help", language)

    async def _reload(self, key: ConversationKey, arg: str, language: Language) -> str:
        if self._reload_task and not self._reload_task.done():
            return say("admin.kb.reload_running", language)
        self._reload_task = asyncio.create_task(self._reload_and_report(key, language))
        return say("admin.kb.reloading", language)

    async def _reload_and_report(self, key: ConversationKey, language: Language) -> None:
        try:
            report = await asyncio.to_thread(self._kb.reload)
            text = format_report(report, language)
            log.info(
                "kb.reload.finished",
                added=report.added,
                updated=report.updated,
                deleted=report.deleted,
                unchanged=report.unchanged,
            )
        except Exception as error:  # the previous index keeps answering
            log.exception("kb.reload.failed")
            text = say("admin.kb.reload_failed", language, error=error)
        await self._deliver(key, OutgoingMessage(text, custom={"admin_command": "kb reload"}))

    async def wait_for_reload(self) -> None:
        """Waits for a running reload (used by tests and shutdown)."""
        if self._reload_task:
            await self._reload_task

    async def _stats(self, key: ConversationKey, arg: str, language: Language) -> str:
        stats = await asyncio.to_thread(self._kb.stats)
        return say("admin.kb.stats", language, **asdict(stats))

    async def _search(self, key: ConversationKey, arg: str, language: Language) -> str:
        if not arg:
            return say("admin.kb.usage_search", language)
        hits = await asyncio.to_thread(self._kb.search, arg, 5)
        if not hits:
            return say("admin.kb.no_hits", language)
        lines = [
            f"{i}. [{hit.score:.3f}] {hit.title} — {hit.source}"
            + (f" § {hit.section}" if hit.section else "")
            + f"\n   {hit.text[:120]}"
            for i, hit in enumerate(hits, start=1)
        ]
        return "\n".join(lines)

    async def _add(self, key: ConversationKey, arg: str, language: Language) -> str:
        question, sep, answer = arg.partition("|")
        if not sep or not question.strip() or not answer.strip():
            return say("admin.kb.usage_add", language)
        faq_id = await asyncio.to_thread(self._kb.add_faq, question.strip(), answer.strip())
        log.info("kb.faq_added", faq_id=faq_id, by=key.as_str())
        return say("admin.kb.added", language, faq_id=faq_id)

    async def _alias(self, key: ConversationKey, arg: str, language: Language) -> str:
        entry, sep, phrasing = arg.partition("|")
        if not sep or not entry.strip() or not phrasing.strip():
            return say("admin.kb.usage_alias", language)
        faq_id = await asyncio.to_thread(self._kb.add_alternative, entry.strip(), phrasing.strip())
        log.info("kb.faq_alias_added", faq_id=faq_id, by=key.as_str())
        return say("admin.kb.alias_added", language, faq_id=faq_id)

    async def _delete(self, key: ConversationKey, arg: str, language: Language) -> str:
        if not arg:
            return say("admin.kb.usage_delete", language)
        source = shlex.split(arg)[0] if arg.startswith(("'", '"')) else arg
        removed = await asyncio.to_thread(self._kb.delete_source, source)
        return say("admin.kb.deleted", language, source=source, removed=removed)
