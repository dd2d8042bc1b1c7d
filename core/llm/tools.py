"""Business tools the model may call, and the loop that runs them.

The first tool is ``order_status``. Its lookup is injected, already bound to the current
customer, so the model can only ever see that customer's orders whatever it asks for.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from core.llm.base import ChatBackend, ChatMessage, ChatResult, ToolCall, ToolSpec

log = structlog.get_logger(__name__)

ToolFunction = Callable[[Mapping[str, Any]], Awaitable[Any]]
"""Runs a tool with the model's arguments; returns something ``json.dumps`` accepts."""

OrderLookup = Callable[[str], Awaitable[Mapping[str, Any] | None]]
"""The current customer's order by number, or ``None`` if they have no such order."""


@dataclass(slots=True, frozen=True)
class Tool:
    spec: ToolSpec
    run: ToolFunction


ORDER_STATUS = ToolSpec(
    name="order_status",
    description=(
        "Look up the status of one of the customer's orders (shipping state, carrier, "
        "tracking number, expected delivery) by its order number. 查询客户订单的状态。"
    ),
    parameters={
        "type": "object",
        "properties": {
            "order_no": {
                "type": "string",
                "description": "The order number exactly as the customer wrote it, e.g. KF20240001",
            }
        },
        "required": ["order_no"],
    },
)

_ORDER_NO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def order_status_tool(lookup: OrderLookup) -> Tool:
    """The ``order_status`` tool over ``lookup``, which must already be bound to the customer."""

    async def run(arguments: Mapping[str, Any]) -> Any:
        order_no = str(arguments.get("order_no", "")).strip()
        if not _ORDER_NO.match(order_no):
            return {"error": "not a valid order number", "order_no": order_no[:64]}
        order = await lookup(order_no)
        if order is None:
            return {"found": False, "order_no": order_no}
        return {"found": True, **order}

    return Tool(ORDER_STATUS, run)


ToolObserver = Callable[[ToolCall, Any], Awaitable[None]]
"""Told about each tool call and its result (for the conversation's event log)."""


async def run_with_tools(
    backend: ChatBackend,
    messages: Sequence[ChatMessage],
    tools: Mapping[str, Tool],
    *,
    max_rounds: int = 3,
    max_tokens: int | None = None,
    on_tool_result: ToolObserver | None = None,
) -> ChatResult:
    """Lets the model call ``tools`` until it answers in text.

    Each round the model either answers (returned) or asks for tool calls; each call runs and
    its result goes back as an ``observation`` message. After ``max_rounds`` rounds of calls
    the model is asked once more without tools, so the loop always ends with text.

    Raises:
        LLMError: the backend failed (tool errors do not raise; the model sees them).
    """
    conversation = list(messages)
    specs = [tool.spec for tool in tools.values()]
    for _ in range(max_rounds):
        result = await backend.complete(conversation, tools=specs, max_tokens=max_tokens)
        if not result.tool_calls:
            return result
        conversation.append(
            ChatMessage("assistant", result.text, tool_calls=tuple(result.tool_calls))
        )
        for call in result.tool_calls:
            output = await _run_one(tools, call)
            if on_tool_result is not None:
                await on_tool_result(call, output)
            conversation.append(
                ChatMessage(
                    "observation",
                    json.dumps(output, ensure_ascii=False, default=str),
                    name=call.name,
                    tool_call_id=call.id,
                )
            )
    return await backend.complete(conversation, max_tokens=max_tokens)


async def _run_one(tools: Mapping[str, Tool], call: ToolCall) -> Any:
    tool = tools.get(call.name)
    if tool is None:
        log.warning("llm.tool.unknown", tool=call.name)
        return {"error": f"there is no tool named {call.name}"}
    try:
        output = await tool.run(call.arguments)
    except Exception as e:  # the model is told, and can apologise; the customer never sees a trace
        log.warning("llm.tool.failed", tool=call.name, error=type(e).__name__)
        return {"error": "the lookup failed; please try again later"}
    log.info("llm.tool.called", tool=call.name)
    return output
