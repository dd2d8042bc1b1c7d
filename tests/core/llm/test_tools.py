"""The tool-calling loop and the order_status tool, with a scripted model."""

from __future__ import annotations

import json
from typing import Any

from core.llm.base import ChatMessage, ChatResult, ToolCall
from core.llm.tools import Tool, order_status_tool, run_with_tools
from tests.core.llm.scripted import ScriptedBackend

ASK = [ChatMessage("user", "我的订单 KF1001 到哪了？")]
ALICE_ORDERS = {"KF1001": {"order_no": "KF1001", "status": "shipped", "carrier": "顺丰"}}


async def alice_lookup(order_no: str) -> dict[str, Any] | None:
    """Bound to Alice: other customers' orders do not exist for her."""
    return ALICE_ORDERS.get(order_no)


def call(order_no: Any, call_id: str = "c1") -> ChatResult:
    return ChatResult("", tool_calls=(ToolCall(call_id, "order_status", {"order_no": order_no}),))


def observations(backend: ScriptedBackend) -> list[dict[str, Any]]:
    last_messages = backend.calls[-1][0]
    return [json.loads(m.content) for m in last_messages if m.role == "observation"]


async def test_answer_uses_the_looked_up_order() -> None:
    backend = ScriptedBackend([call("KF1001"), "您的订单 KF1001 已由顺丰发出。"])
    tools = {"order_status": order_status_tool(alice_lookup)}

    result = await run_with_tools(backend, ASK, tools)

    assert result.text == "您的订单 KF1001 已由顺丰发出。"
    assert observations(backend) == [{"found": True, **ALICE_ORDERS["KF1001"]}]
    assert [spec.name for spec in backend.calls[0][1]] == ["order_status"]


async def test_someone_elses_order_is_not_found() -> None:
    backend = ScriptedBackend([call("KF2002"), "没有找到这个订单。"])
    tools = {"order_status": order_status_tool(alice_lookup)}

    await run_with_tools(backend, ASK, tools)

    assert observations(backend) == [{"found": False, "order_no": "KF2002"}]


async def test_malformed_order_numbers_never_reach_the_lookup() -> None:
    seen: list[str] = []

    async def lookup(order_no: str) -> dict[str, Any] | None:
        seen.append(order_no)
        return None

    backend = ScriptedBackend([call("1; DROP TABLE orders"), "请提供正确的订单号。"])
    await run_with_tools(backend, ASK, {"order_status": order_status_tool(lookup)})

    assert seen == []
    assert "error" in observations(backend)[0]


async def test_failing_lookup_and_unknown_tool_are_told_to_the_model_not_raised() -> None:
    async def broken(arguments: Any) -> Any:
        raise RuntimeError("database down")

    backend = ScriptedBackend(
        [
            ChatResult(
                "",
                tool_calls=(
                    ToolCall("c1", "order_status", {"order_no": "KF1001"}),
                    ToolCall("c2", "refund_everything", {}),
                ),
            ),
            "抱歉，暂时查不到订单。",
        ]
    )
    tools = {"order_status": Tool(order_status_tool(alice_lookup).spec, broken)}

    result = await run_with_tools(backend, ASK, tools)

    assert result.text == "抱歉，暂时查不到订单。"
    failed, unknown = observations(backend)
    assert "failed" in failed["error"]
    assert "refund_everything" in unknown["error"]


async def test_loop_ends_with_text_after_max_rounds() -> None:
    backend = ScriptedBackend([call("KF1001", "a"), call("KF1001", "b"), "最终答复。"])

    result = await run_with_tools(
        backend, ASK, {"order_status": order_status_tool(alice_lookup)}, max_rounds=2
    )

    assert result.text == "最终答复。"
    assert backend.calls[-1][1] == []  # the last call offered no tools
