"""Reading tool calls out of what local chat models write."""

from __future__ import annotations

from core.llm.base import ChatMessage, ToolCall
from core.llm.chat_format import (
    parse_chatglm3_output,
    parse_json_tool_calls,
    template_conversation,
)
from core.llm.tools import ORDER_STATUS

TOOLS = ["order_status"]


def test_chatglm3_tool_call_is_parsed_without_evaluating_code() -> None:
    raw = "order_status\n```python\ntool_call(order_no='KF20240001')\n```"

    text, calls = parse_chatglm3_output(raw, TOOLS)

    assert text == ""
    assert calls == (ToolCall("call_0", "order_status", {"order_no": "KF20240001"}),)


def test_chatglm3_thought_then_call_keeps_both() -> None:
    raw = "\n我来查一下。<|assistant|>order_status\n```python\ntool_call(order_no='A1')\n```"

    text, calls = parse_chatglm3_output(raw, TOOLS)

    assert text == "我来查一下。"
    assert [c.arguments for c in calls] == [{"order_no": "A1"}]


def test_chatglm3_code_that_is_not_a_plain_call_stays_text() -> None:
    raw = "order_status\n```python\n__import__('os').system('rm -rf /')\n```"

    text, calls = parse_chatglm3_output(raw, TOOLS)

    assert calls == ()
    assert "__import__" in text


def test_chatglm3_plain_answer_loses_its_empty_metadata_line() -> None:
    text, calls = parse_chatglm3_output("\n您的订单已发货 [1]。</s>", TOOLS)

    assert (text, calls) == ("您的订单已发货 [1]。", ())


def test_qwen_tagged_tool_calls() -> None:
    call = '{"name": "order_status", "arguments": {"order_no": "B2"}}'
    raw = f"Let me check.\n<tool_call>\n{call}\n</tool_call>"

    text, calls = parse_json_tool_calls(raw, TOOLS)

    assert text == "Let me check."
    assert calls[0].name == "order_status"
    assert calls[0].arguments == {"order_no": "B2"}


def test_llama_json_and_glm4_name_line_calls() -> None:
    llama = '{"name": "order_status", "parameters": {"order_no": "C3"}}'
    glm4 = 'order_status\n{"order_no": "D4"}'

    assert parse_json_tool_calls(llama, TOOLS)[1][0].arguments == {"order_no": "C3"}
    assert parse_json_tool_calls(glm4, TOOLS)[1][0].arguments == {"order_no": "D4"}


def test_calls_to_tools_not_offered_stay_text() -> None:
    raw = '{"name": "delete_all_orders", "arguments": {}}'

    assert parse_json_tool_calls(raw, TOOLS) == (raw, ())


def test_templates_without_tools_get_a_json_convention_in_the_system_turn() -> None:
    messages = [
        ChatMessage("system", "Be brief."),
        ChatMessage("user", "Where is KF1?"),
        ChatMessage(
            "assistant", "", tool_calls=(ToolCall("c1", "order_status", {"order_no": "KF1"}),)
        ),
        ChatMessage("observation", '{"status": "shipped"}', name="order_status"),
    ]

    conversation = template_conversation(messages, [ORDER_STATUS], native_tools=False)

    assert conversation[0]["role"] == "system"
    assert "order_status" in conversation[0]["content"]
    assert '"arguments"' in conversation[0]["content"]
    assert {m["role"] for m in conversation} <= {"system", "user", "assistant"}
    assert "shipped" in conversation[-1]["content"]
