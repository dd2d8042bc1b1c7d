"""A scripted chat backend for chain and tool-loop tests: it answers what it is told to."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence

from core.errors import LLMError
from core.llm.base import ChatBackend, ChatMessage, ChatResult, ToolSpec


class ScriptedBackend:
    """Replies in order (text, a full :class:`ChatResult`, or an exception to raise) and
    records what it was sent."""

    def __init__(self, replies: Iterable[str | ChatResult | Exception] = ()) -> None:
        self.replies = list(replies)
        self.calls: list[tuple[list[ChatMessage], list[ToolSpec]]] = []
        self.name = "scripted"

    def _next(
        self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec] | None
    ) -> ChatResult:
        self.calls.append((list(messages), list(tools or ())))
        if not self.replies:
            raise LLMError("the script ran out of replies")
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply if isinstance(reply, ChatResult) else ChatResult(text=reply)

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        tools: Sequence[ToolSpec] | None = None,
        max_tokens: int | None = None,
    ) -> ChatResult:
        return self._next(messages, tools)

    async def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int | None = None
    ) -> AsyncIterator[str]:
        text = self._next(messages, None).text
        for start in range(0, len(text), 4):
            yield text[start : start + 4]

    async def close(self) -> None:
        return None


def _conforms(backend: ScriptedBackend) -> ChatBackend:
    return backend  # mypy checks the fake against the protocol the pipeline uses
