"""Any OpenAI-compatible chat completions server, through the official ``openai`` SDK.

Works with OpenAI, Azure OpenAI (endpoint + deployment + api-version + key), vLLM, Ollama and
ChatGLM3's own API server. Retries are the SDK's: on connection errors, timeouts, 408, 409,
429 and 5xx it retries ``max_retries`` times with exponential backoff (0.5 s doubling up to
8 s, minus up to 25 % jitter) or the server's ``Retry-After``/``retry-after-ms``. Each attempt
waits at most ``timeout_s``. Whatever still fails becomes an :class:`LLMError` whose message
says what to check.

Servers disagree on request fields: OpenAI's reasoning models refuse ``max_tokens`` (they want
``max_completion_tokens``) and non-default sampling settings, which older servers do not know.
With ``token_limit_field="auto"`` the backend starts with the widely understood fields and,
when a server answers 400 naming one it does not support, adapts once and remembers.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

import openai
import structlog

from core.config.llm import LLMSettings
from core.errors import ConfigError, LLMError
from core.llm.base import (
    TOOL_RESULT_ROLES,
    ChatMessage,
    ChatResult,
    FinishReason,
    ToolCall,
    ToolSpec,
    Usage,
)

log = structlog.get_logger(__name__)

_NO_KEY = "not-needed"
"""Local servers (vLLM, Ollama) take any key, but the SDK refuses to start without one."""
_UNSUPPORTED = frozenset({"unsupported_parameter", "unsupported_value"})
_SAMPLING = frozenset({"temperature", "top_p"})


class OpenAIBackend:
    """A :class:`core.llm.base.ChatBackend` over the OpenAI chat completions protocol."""

    def __init__(self, settings: LLMSettings) -> None:
        """Builds the SDK client; no network I/O happens until the first request.

        Raises:
            ConfigError: no model (or Azure deployment) is configured.
        """
        model = settings.model or settings.azure_deployment
        if not model:
            raise ConfigError("KEFU_LLM__MODEL is required for the openai backend")
        self._settings = settings
        self._model = model
        self._client = _make_client(settings)
        self._where = settings.azure_endpoint or settings.base_url or "api.openai.com"
        self._limit_field = (
            "max_tokens" if settings.token_limit_field == "auto" else settings.token_limit_field
        )
        self._left_out: set[str] = set()
        self.name = f"openai:{model}"

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        tools: Sequence[ToolSpec] | None = None,
        max_tokens: int | None = None,
    ) -> ChatResult:
        """See :meth:`core.llm.base.ChatBackend.complete`."""
        extra: dict[str, Any] = {}
        if tools:
            extra["tools"] = [tool.to_openai() for tool in tools]
        try:
            response = await self._create(messages, max_tokens, **extra)
        except openai.OpenAIError as e:
            raise self._explain(e) from e
        if not response.choices:
            raise LLMError(f"the LLM server at {self._where} returned no choices")
        choice = response.choices[0]
        usage = response.usage
        return ChatResult(
            text=(choice.message.content or "").strip(),
            tool_calls=_parse_tool_calls(choice.message.tool_calls or []),
            usage=Usage(usage.prompt_tokens, usage.completion_tokens) if usage else None,
            finish_reason=_finish_reason(choice.finish_reason),
        )

    async def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int | None = None
    ) -> AsyncIterator[str]:
        """See :meth:`core.llm.base.ChatBackend.stream`.

        A stream that ends without a finish reason counts as broken: the server or a proxy
        cut it, and the customer would otherwise get half an answer as if it were whole.
        """
        finished = False
        pieces = 0
        try:
            chunks = await self._create(messages, max_tokens, stream=True)
            async for chunk in chunks:
                for choice in chunk.choices[:1]:
                    if choice.delta.content:
                        pieces += 1
                        yield choice.delta.content
                    finished = finished or choice.finish_reason is not None
        except openai.APITimeoutError as e:
            raise self._explain(e) from e
        except openai.APIConnectionError as e:
            if pieces == 0:
                raise self._explain(e) from e
            log.warning("llm.openai.stream_broken", server=self._where, pieces=pieces)
            raise LLMError(
                f"the stream from the LLM server at {self._where} broke after {pieces} pieces"
            ) from e
        except openai.OpenAIError as e:
            raise self._explain(e) from e
        except ValueError as e:  # a chunk that is not JSON
            raise LLMError(f"the LLM server at {self._where} sent a malformed stream") from e
        if not finished:
            raise LLMError(f"the stream from the LLM server at {self._where} ended early")

    async def close(self) -> None:
        """Closes the SDK's connection pool."""
        await self._client.close()

    async def _create(
        self, messages: Sequence[ChatMessage], max_tokens: int | None, **extra: Any
    ) -> Any:
        """One chat completions call, repeated while the server names a field to adapt
        (each field adapts once, so this ends)."""
        while True:
            try:
                return await self._client.chat.completions.create(
                    **self._request(messages, max_tokens), **extra
                )
            except openai.BadRequestError as e:
                if not self._adapt_to(e):
                    raise

    def _adapt_to(self, error: openai.BadRequestError) -> bool:
        """Learns from a 400 that names an unsupported field; True if the request changed."""
        if self._settings.token_limit_field != "auto" or error.code not in _UNSUPPORTED:
            return False
        if error.param == "max_tokens" and self._limit_field == "max_tokens":
            self._limit_field = "max_completion_tokens"
        elif error.param in _SAMPLING and error.param not in self._left_out:
            self._left_out.add(error.param)
        else:
            return False
        log.info("llm.openai.adapted", server=self._where, field=error.param)
        return True

    def _request(self, messages: Sequence[ChatMessage], max_tokens: int | None) -> dict[str, Any]:
        request = {
            "model": self._model,
            "messages": cast(Any, [to_openai_message(m) for m in messages]),
            self._limit_field: max_tokens or self._settings.max_new_tokens,
            "temperature": self._settings.temperature,
            "top_p": self._settings.top_p,
        }
        for field in self._left_out:
            del request[field]
        return request

    def _explain(self, error: openai.OpenAIError) -> LLMError:
        """Turns an SDK error into a message an operator can act on."""
        where = self._where
        log.warning("llm.openai.failed", error=type(error).__name__, server=where)
        if isinstance(error, openai.APITimeoutError):
            return LLMError(
                f"the LLM server at {where} did not answer within {self._settings.timeout_s:g}s"
            )
        if isinstance(error, openai.APIConnectionError):
            return LLMError(
                f"cannot reach the LLM server at {where}: is it running, is the URL right?"
            )
        if isinstance(error, openai.NotFoundError):
            return LLMError(
                f"the LLM server at {where} answered 404 for model {self._model!r}: check "
                "base_url (it usually ends in /v1), the model name or the Azure deployment"
            )
        if isinstance(error, openai.AuthenticationError | openai.PermissionDeniedError):
            return LLMError(f"the LLM server at {where} refused the API key")
        if isinstance(error, openai.RateLimitError):
            return LLMError(f"the LLM server at {where} is rate limiting us (429) after retries")
        if isinstance(error, openai.APIStatusError):
            return LLMError(f"the LLM server at {where} answered HTTP {error.status_code}")
        return LLMError(f"the LLM server at {where} failed: {type(error).__name__}")


def _make_client(settings: LLMSettings) -> openai.AsyncOpenAI:
    key = settings.api_key.get_secret_value() if settings.api_key else _NO_KEY
    if settings.azure_endpoint:
        if not settings.api_version:
            raise ConfigError("Azure OpenAI needs KEFU_LLM__API_VERSION (e.g. 2024-10-21)")
        return openai.AsyncAzureOpenAI(
            azure_endpoint=settings.azure_endpoint,
            azure_deployment=settings.azure_deployment,
            api_version=settings.api_version,
            api_key=key,
            timeout=settings.timeout_s,
            max_retries=settings.max_retries,
        )
    return openai.AsyncOpenAI(
        base_url=settings.base_url,
        api_key=key,
        timeout=settings.timeout_s,
        max_retries=settings.max_retries,
    )


def to_openai_message(message: ChatMessage) -> dict[str, Any]:
    """One :class:`ChatMessage` in the chat completions request format."""
    if message.role in TOOL_RESULT_ROLES:
        return {
            "role": "tool",
            "tool_call_id": message.tool_call_id or message.name or "",
            "content": message.content,
        }
    payload: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        payload["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {
                    "name": call.name,
                    "arguments": json.dumps(dict(call.arguments), ensure_ascii=False),
                },
            }
            for call in message.tool_calls
        ]
    return payload


def _parse_tool_calls(calls: Sequence[Any]) -> tuple[ToolCall, ...]:
    parsed = []
    for call in calls:
        function = getattr(call, "function", None)
        if function is None:  # a "custom" (free-text) tool call; we define none
            continue
        try:
            arguments = json.loads(function.arguments or "{}")
        except json.JSONDecodeError:
            arguments = {}
        if not isinstance(arguments, dict):
            arguments = {}
        parsed.append(ToolCall(id=call.id, name=function.name, arguments=arguments))
    return tuple(parsed)


def _finish_reason(reason: str | None) -> FinishReason:
    if reason in ("stop", "length", "tool_calls"):
        return cast(FinishReason, reason)
    return "other"
