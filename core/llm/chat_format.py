"""Turning conversations into what local chat models read, and their output back into results.

Three prompt styles, chosen by what the tokenizer offers:

- ``chatglm3``: ChatGLM3's tokenizer has ``build_chat_input(query, history, role)``; history
  items are ``{"role", "content", "metadata"}`` with roles system / user / assistant /
  observation; tools go in the system item's ``tools`` field. A tool call comes back as
  ``<name>\\n```python\\ntool_call(arg='value')\\n```; we parse it with :mod:`ast` (ChatGLM3's
  own demo uses ``eval``; we never evaluate model output).
- ``template``: any tokenizer with a chat template (Qwen, GLM-4, Llama); tools go through the
  template's ``tools`` argument when the template uses it, else as a JSON convention in the
  system message.
- ``plain``: no template at all; ``Role: text`` lines.

Nothing here imports torch or transformers.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from core.llm.base import TOOL_RESULT_ROLES, ChatMessage, ToolCall, ToolSpec

ChatStyle = Literal["chatglm3", "template", "plain"]

CHATGLM3_TOOLS_SYSTEM = (
    "Answer the following questions as best as you can. You have access to the following tools:"
)
"""ChatGLM3's own system prompt for function calling, used when a conversation has none."""

CHATGLM3_SPECIAL = ("<|user|>", "<|observation|>", "<|system|>", "</s>", "<eos>")


def chat_style(tokenizer: Any) -> ChatStyle:
    """Which prompt style ``tokenizer`` supports (see the module docstring)."""
    if callable(getattr(tokenizer, "build_chat_input", None)):
        return "chatglm3"
    if getattr(tokenizer, "chat_template", None):
        return "template"
    return "plain"


def template_takes_tools(tokenizer: Any) -> bool:
    """Whether the chat template renders a ``tools`` argument (Qwen2.5, Llama 3.1, GLM-4 do)."""
    template = getattr(tokenizer, "chat_template", None)
    text = json.dumps(template) if isinstance(template, dict) else str(template or "")
    return "tools" in text


def _glm_tool_schema(tool: ToolSpec) -> dict[str, Any]:
    return {"name": tool.name, "description": tool.description, "parameters": dict(tool.parameters)}


def _python_call(call: ToolCall) -> str:
    args = ", ".join(f"{key}={value!r}" for key, value in call.arguments.items())
    return f"```python\ntool_call({args})\n```"


def chatglm3_history(
    messages: Sequence[ChatMessage], tools: Sequence[ToolSpec] | None
) -> tuple[list[dict[str, Any]], str, str]:
    """``(history, query, role)`` for ChatGLM3's ``build_chat_input``.

    Raises:
        ValueError: the conversation is empty or ends with an assistant turn.
    """
    if not messages or messages[-1].role == "assistant":
        raise ValueError("a conversation must end with a user or observation turn")
    history: list[dict[str, Any]] = []
    for message in messages[:-1]:
        history.extend(_glm_items(message))
    if tools:
        schemas = [_glm_tool_schema(tool) for tool in tools]
        if history and history[0]["role"] == "system":
            history[0]["tools"] = schemas
        else:
            history.insert(
                0, {"role": "system", "content": CHATGLM3_TOOLS_SYSTEM, "tools": schemas}
            )
    last = messages[-1]
    role = "observation" if last.role in TOOL_RESULT_ROLES else last.role
    return history, last.content, role


def _glm_items(message: ChatMessage) -> list[dict[str, Any]]:
    if message.role in TOOL_RESULT_ROLES:
        return [{"role": "observation", "metadata": "", "content": message.content}]
    items: list[dict[str, Any]] = []
    if message.content or not message.tool_calls:
        items.append({"role": message.role, "metadata": "", "content": message.content})
    for call in message.tool_calls:
        items.append({"role": "assistant", "metadata": call.name, "content": _python_call(call)})
    return items


def template_conversation(
    messages: Sequence[ChatMessage], tools: Sequence[ToolSpec] | None, *, native_tools: bool
) -> list[dict[str, Any]]:
    """Messages as chat-template dicts; without native tools, tools become a JSON convention."""
    if tools and not native_tools:
        return _json_convention_conversation(messages, tools)
    conversation: list[dict[str, Any]] = []
    for message in messages:
        if message.role in TOOL_RESULT_ROLES:
            conversation.append(
                {
                    "role": "tool",
                    "name": message.name,
                    "tool_call_id": message.tool_call_id,
                    "content": message.content,
                }
            )
            continue
        item: dict[str, Any] = {"role": message.role, "content": message.content}
        if message.tool_calls:
            item["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": dict(call.arguments)},
                }
                for call in message.tool_calls
            ]
        conversation.append(item)
    return conversation


def tools_instruction(tools: Sequence[ToolSpec]) -> str:
    """The JSON calling convention for models whose template knows no tools."""
    schemas = json.dumps([_glm_tool_schema(t) for t in tools], ensure_ascii=False)
    return (
        "You can call these tools: "
        f"{schemas}\nTo call one, reply with only a JSON object like "
        '{"name": "<tool name>", "arguments": {...}} and nothing else. '
        "You will then receive the result and can answer."
    )


def _json_convention_conversation(
    messages: Sequence[ChatMessage], tools: Sequence[ToolSpec]
) -> list[dict[str, Any]]:
    conversation: list[dict[str, Any]] = []
    for message in messages:
        if message.role in TOOL_RESULT_ROLES:
            content = f"Result of tool {message.name or ''}: {message.content}"
            conversation.append({"role": "user", "content": content})
            continue
        content = message.content
        for call in message.tool_calls:
            content += json.dumps({"name": call.name, "arguments": dict(call.arguments)})
        conversation.append({"role": message.role, "content": content})
    instruction = tools_instruction(tools)
    if conversation and conversation[0]["role"] == "system":
        conversation[0]["content"] += "\n\n" + instruction
    else:
        conversation.insert(0, {"role": "system", "content": instruction})
    return conversation


def plain_prompt(messages: Sequence[ChatMessage]) -> str:
    """``Role: text`` lines ending with ``Assistant:``, for models without a chat template."""
    lines = [f"{m.role.capitalize()}: {m.content}" for m in messages]
    return "\n".join([*lines, "Assistant:"])


def parse_chatglm3_output(raw: str, tool_names: Sequence[str]) -> tuple[str, tuple[ToolCall, ...]]:
    """Text and tool calls from ChatGLM3's raw output (special tokens kept).

    The output is one or more ``<|assistant|>``-separated segments, each ``metadata\\ntext``;
    empty metadata means plain text, a tool name means a call to that tool.
    """
    for token in CHATGLM3_SPECIAL:
        raw = raw.replace(token, "")
    texts: list[str] = []
    calls: list[ToolCall] = []
    for segment in raw.split("<|assistant|>"):
        metadata, _, content = segment.partition("\n")
        name = metadata.strip()
        arguments = _parse_python_call(content) if name in tool_names else None
        if arguments is None:  # plain text, or a call we cannot read: the customer sees text
            texts.append(segment.strip())
        else:
            calls.append(ToolCall(id=f"call_{len(calls)}", name=name, arguments=arguments))
    return "\n".join(t for t in texts if t).strip(), tuple(calls)


def _parse_python_call(content: str) -> dict[str, Any] | None:
    code = content.strip().removeprefix("```python").removeprefix("```").removesuffix("```")
    try:
        tree = ast.parse(code.strip(), mode="eval")
    except SyntaxError:
        return None
    call = tree.body
    if not isinstance(call, ast.Call) or call.args:
        return None
    try:
        return {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords if kw.arg}
    except ValueError:
        return None


_TAGGED_CALL = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.DOTALL)
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")


def parse_json_tool_calls(text: str, tool_names: Sequence[str]) -> tuple[str, tuple[ToolCall, ...]]:
    """Tool calls that chat-template models write as JSON, and the text around them.

    Understands Qwen/Hermes ``<tool_call>{...}</tool_call>`` blocks, a whole reply that is a
    JSON object (Llama 3.1 and our JSON convention; ``arguments`` or ``parameters``), and
    GLM-4's ``name\\n{json}``. Calls to tools that were not offered are left as text.
    """
    calls: list[ToolCall] = []
    for block in _TAGGED_CALL.findall(text):
        call = _call_from_json(block, tool_names, len(calls))
        if call is not None:
            calls.append(call)
    if calls:
        return _TAGGED_CALL.sub("", text).strip(), tuple(calls)
    stripped = _FENCE.sub("", text.strip().removeprefix("<|python_tag|>"))
    call = _call_from_json(stripped, tool_names, 0)
    if call is None:
        name, _, rest = stripped.partition("\n")
        if name.strip() in tool_names:
            call = _call_from_json(
                json.dumps({"name": name.strip(), "arguments": _loads(rest)}), tool_names, 0
            )
    return ("", (call,)) if call is not None else (text.strip(), ())


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def _call_from_json(text: str, tool_names: Sequence[str], index: int) -> ToolCall | None:
    data = _loads(text)
    if not isinstance(data, Mapping):
        return None
    name = data.get("name") or data.get("tool")
    arguments = data.get("arguments", data.get("parameters", {}))
    if isinstance(arguments, str):
        arguments = _loads(arguments)
    if name not in tool_names or not isinstance(arguments, Mapping):
        return None
    return ToolCall(id=f"call_{index}", name=str(name), arguments=dict(arguments))


def looks_like_tool_call(text: str, tool_names: Sequence[str]) -> bool:
    """Whether a reply is a tool call written out as text (JSON, or ChatGLM3's
    ``tool_call(...)``), e.g. from a model asked again without tools: never a customer answer."""
    _, calls = parse_json_tool_calls(text, tool_names)
    return bool(calls) or "tool_call(" in text
