"""The one small interface between the bot and any language model."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

JSONObject = Mapping[str, Any]
"""A JSON object as parsed by ``json.loads``."""

Role = Literal["system", "user", "assistant", "observation", "tool"]
"""ChatGLM3's roles; ``tool`` is OpenAI's name for ``observation`` (a tool's result)."""

TOOL_RESULT_ROLES: frozenset[str] = frozenset({"observation", "tool"})


@dataclass(slots=True, frozen=True)
class ToolCall:
    """The model asks for ``name(**arguments)``; ``id`` pairs the call with its result."""

    id: str
    name: str
    arguments: JSONObject = field(default_factory=dict)


@dataclass(slots=True, frozen=True)
class ChatMessage:
    """One turn of a conversation as the model sees it.

    Tool results use role ``observation`` (or ``tool``) with ``name`` set to the tool and
    ``tool_call_id`` to the id of the :class:`ToolCall` they answer.
    """

    role: Role
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    name: str | None = None
    tool_call_id: str | None = None


@dataclass(slots=True, frozen=True)
class ToolSpec:
    """A function the model may call; ``parameters`` is a JSON schema of its arguments."""

    name: str
    description: str
    parameters: JSONObject

    def to_openai(self) -> dict[str, Any]:
        """The tool in OpenAI's ``tools`` format (also what chat templates expect)."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": dict(self.parameters),
            },
        }


@dataclass(slots=True, frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int


FinishReason = Literal["stop", "length", "tool_calls", "other"]


@dataclass(slots=True, frozen=True)
class ChatResult:
    """What one completion returned."""

    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage | None = None
    finish_reason: FinishReason = "stop"


@contextlib.asynccontextmanager
async def closing_stream(stream: AsyncIterator[str]) -> AsyncGenerator[AsyncIterator[str], None]:
    """Closes ``stream`` when the block ends, also when the reader stops early, so a local
    model stops generating for a customer who went away."""
    try:
        yield stream
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()


class ChatBackend(Protocol):
    """A chat model. Every failure surfaces as :class:`core.errors.LLMError`."""

    name: str
    """Short description for logs and benchmark files, e.g. ``openai:gpt-4o-mini``."""

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        tools: Sequence[ToolSpec] | None = None,
        max_tokens: int | None = None,
    ) -> ChatResult:
        """Generate one answer (or tool calls) for ``messages``.

        Raises:
            LLMError: the model failed, timed out or is unreachable.
        """
        ...

    def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int | None = None
    ) -> AsyncIterator[str]:
        """Generate one answer, yielding text pieces as they come; they join to the answer.

        Raises:
            LLMError: the model failed, timed out or the stream broke (possibly after some
                pieces were yielded).
        """
        ...

    async def close(self) -> None:
        """Release connections, threads and memory."""
        ...
