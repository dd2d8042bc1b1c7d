"""Admin slash commands, the same on every channel: ``/kb ...`` and ``/help``."""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import structlog

from core.errors import KefuError
from core.text import Language, pick
from core.types import ConversationKey, OutgoingMessage
from knowledge.types import IngestReport, KBStats, Passage

log = structlog.get_logger(__name__)

Deliver = Callable[[ConversationKey, OutgoingMessage], Awaitable[object]]

HELP = {
    "zh": (
        "管理员命令：\n"
        "/kb reload — 重新加载知识库（只处理变化的文件）\n"
        "/kb stats — 知识库统计\n"
        "/kb search <问题> — 查看检索结果与分数\n"
        "/kb add <问题> | <答案> — 新增一条 FAQ，立即生效\n"
        "/kb alias <条目编号或问题> | <相似问> — 给任一 FAQ 条目加一个相似问法\n"
        "/kb delete <来源或条目编号> — 删除某个来源的全部内容，或一条新增的 FAQ（added-…）\n"
        "/help — 显示本帮助"
    ),
    "en": (
        "Admin commands:\n"
        "/kb reload — reload the knowledge base (changed files only)\n"
        "/kb stats — knowledge base statistics\n"
        "/kb search <question> — top hits with scores and sources\n"
        "/kb add <question> | <answer> — add an FAQ entry, live at once\n"
        "/kb alias <id or question> | <phrasing> — another way to ask any FAQ entry\n"
        "/kb delete <source or id> — delete one source, or one added FAQ entry (added-…)\n"
        "/help — this help"
    ),
}


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
    if language == "zh":
        return (
            f"知识库已重新加载：新增 {report.added}，更新 {report.updated}，删除 "
            f"{report.deleted}，未变 {report.unchanged}，共 {report.chunks} 个片段。{failed}"
        )
    return (
        f"Knowledge base reloaded: {report.added} added, {report.updated} updated, "
        f"{report.deleted} deleted, {report.unchanged} unchanged, {report.chunks} chunks.{failed}"
    )


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
            unknown = pick(language, "未知命令。", "Unknown command.")
            return AdminResult(name, [OutgoingMessage(f"{unknown}\n{HELP[language]}")])
        try:
            reply = await handler(key, argument, language)
        except KefuError as error:
            log.warning("admin.command_failed", command=name, error=str(error))
            failed = pick(language, "命令执行失败：", "Command failed: ")
            reply = f"{failed}{error}"
        return AdminResult(name, [OutgoingMessage(reply, custom={"admin_command": name})])

    async def _help(self, key: ConversationKey, arg: str, language: Language) -> str:
        return HELP[language]

    async def _reload(self, key: ConversationKey, arg: str, language: Language) -> str:
        if self._reload_task and not self._reload_task.done():
            return pick(language, "正在重新加载中，请稍候。", "A reload is already running.")
        self._reload_task = asyncio.create_task(self._reload_and_report(key, language))
        if language == "zh":
            return "正在重新加载知识库，完成后会通知您。"
        return "Reloading the knowledge base; I'll report when it's done."

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
            text = (
                f"重新加载失败，原知识库仍在使用：{error}"
                if language == "zh"
                else f"Reload failed; the previous knowledge base is still answering: {error}"
            )
        await self._deliver(key, OutgoingMessage(text, custom={"admin_command": "kb reload"}))

    async def wait_for_reload(self) -> None:
        """Waits for a running reload (used by tests and shutdown)."""
        if self._reload_task:
            await self._reload_task

    async def _stats(self, key: ConversationKey, arg: str, language: Language) -> str:
        stats = await asyncio.to_thread(self._kb.stats)
        if language == "zh":
            return (
                f"知识库：{stats.sources} 个来源，{stats.chunks} 个片段，"
                f"{stats.faq_entries} 条 FAQ；向量模型 {stats.embedder}。"
            )
        return (
            f"Knowledge base: {stats.sources} sources, {stats.chunks} chunks, "
            f"{stats.faq_entries} FAQ entries; embedder {stats.embedder}."
        )

    async def _search(self, key: ConversationKey, arg: str, language: Language) -> str:
        if not arg:
            return pick(language, "用法：/kb search <问题>", "Usage: /kb search <question>")
        hits = await asyncio.to_thread(self._kb.search, arg, 5)
        if not hits:
            return pick(language, "没有找到结果。", "No hits.")
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
            return (
                "用法：/kb add <问题> | <答案>（用竖线 | 分隔问题和答案）"
                if language == "zh"
                else "Usage: /kb add <question> | <answer> (a | separates them)"
            )
        faq_id = await asyncio.to_thread(self._kb.add_faq, question.strip(), answer.strip())
        log.info("kb.faq_added", faq_id=faq_id, by=key.as_str())
        return (
            f"已添加 FAQ（{faq_id}），立即生效。"
            if language == "zh"
            else f"FAQ entry added ({faq_id}); it is live now."
        )

    async def _alias(self, key: ConversationKey, arg: str, language: Language) -> str:
        entry, sep, phrasing = arg.partition("|")
        if not sep or not entry.strip() or not phrasing.strip():
            return pick(
                language,
                "用法：/kb alias <条目编号或问题> | <相似问>",
                "Usage: /kb alias <entry id or question> | <another way to ask it>",
            )
        faq_id = await asyncio.to_thread(self._kb.add_alternative, entry.strip(), phrasing.strip())
        log.info("kb.faq_alias_added", faq_id=faq_id, by=key.as_str())
        return pick(
            language,
            f"已为 {faq_id} 添加相似问，立即生效。",
            f"Alternative phrasing added to {faq_id}; it is live now.",
        )

    async def _delete(self, key: ConversationKey, arg: str, language: Language) -> str:
        if not arg:
            return pick(language, "用法：/kb delete <来源>", "Usage: /kb delete <source>")
        source = shlex.split(arg)[0] if arg.startswith(("'", '"')) else arg
        removed = await asyncio.to_thread(self._kb.delete_source, source)
        return (
            f"已删除来源 {source} 的 {removed} 个片段。"
            if language == "zh"
            else f"Deleted {removed} chunks from {source}."
        )
