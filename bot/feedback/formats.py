"""Fine-tuning dataset formats: ChatGLM3, alpaca and OpenAI chat, with their JSON schemas.

- ``chatglm3``: ChatGLM3's fine-tuning format, ``{"conversations": [{"role", "content"}]}``.
- ``alpaca``: ``{"instruction", "input", "output", "system", "history": [[user, assistant]]}``
  (the multi-turn alpaca layout LLaMA-Factory reads).
- ``openai``: OpenAI's chat fine-tuning format, ``{"messages": [{"role", "content"}]}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # this module stays importable where only the training stack is installed
    from bot.feedback.dataset import Example

Format = Literal["chatglm3", "alpaca", "openai"]
FORMATS: tuple[Format, ...] = ("chatglm3", "alpaca", "openai")

_MESSAGE = {
    "type": "object",
    "required": ["role", "content"],
    "properties": {
        "role": {"enum": ["system", "user", "assistant"]},
        "content": {"type": "string", "minLength": 1},
    },
    "additionalProperties": False,
}
_CHAT = {"type": "array", "minItems": 2, "items": _MESSAGE}

SCHEMAS: dict[Format, dict[str, Any]] = {
    "chatglm3": {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "ChatGLM3 fine-tuning example",
        "type": "object",
        "required": ["conversations"],
        "properties": {"conversations": _CHAT},
        "additionalProperties": False,
    },
    "openai": {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "OpenAI chat fine-tuning example",
        "type": "object",
        "required": ["messages"],
        "properties": {"messages": _CHAT},
        "additionalProperties": False,
    },
    "alpaca": {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Alpaca example (multi-turn via history)",
        "type": "object",
        "required": ["instruction", "input", "output"],
        "properties": {
            "instruction": {"type": "string", "minLength": 1},
            "input": {"type": "string"},
            "output": {"type": "string", "minLength": 1},
            "system": {"type": "string"},
            "history": {
                "type": "array",
                "items": {
                    "type": "array",
                    "prefixItems": [{"type": "string"}, {"type": "string"}],
                    "minItems": 2,
                    "maxItems": 2,
                },
            },
        },
        "additionalProperties": False,
    },
}


def chat_messages(example: Example, system: str) -> list[dict[str, str]]:
    """The example as chat turns: system (if any), earlier turns, question, answer."""
    messages = [{"role": "system", "content": system}] if system else []
    messages.extend({"role": t["role"], "content": t["content"]} for t in example.context)
    messages.append({"role": "user", "content": example.question})
    messages.append({"role": "assistant", "content": example.answer})
    return messages


def render(example: Example, fmt: Format, system: str) -> dict[str, Any]:
    """One JSON line of the dataset in ``fmt``.

    Raises:
        ValueError: for an unknown format.
    """
    if fmt == "chatglm3":
        return {"conversations": chat_messages(example, system)}
    if fmt == "openai":
        return {"messages": chat_messages(example, system)}
    if fmt == "alpaca":
        record: dict[str, Any] = {
            "instruction": example.question,
            "input": "",
            "output": example.answer,
        }
        if system:
            record["system"] = system
        turns = example.context
        record["history"] = [
            [turns[i]["content"], turns[i + 1]["content"]] for i in range(0, len(turns) - 1, 2)
        ]
        return record
    raise ValueError(f"unknown dataset format {fmt!r}; use one of {', '.join(FORMATS)}")


def messages_of(record: dict[str, Any]) -> list[dict[str, str]]:
    """Chat turns of a dataset line in any of the three formats (for training and evaluation).

    Raises:
        ValueError: if the line is in none of the formats.
    """
    if "conversations" in record:
        return [dict(m) for m in record["conversations"]]
    if "messages" in record:
        return [dict(m) for m in record["messages"]]
    if "instruction" in record and "output" in record:
        messages = [{"role": "system", "content": record["system"]}] if record.get("system") else []
        for user, assistant in record.get("history", []):
            messages += [
                {"role": "user", "content": user},
                {"role": "assistant", "content": assistant},
            ]
        question = "\n".join(p for p in (record["instruction"], record.get("input", "")) if p)
        messages += [
            {"role": "user", "content": question},
            {"role": "assistant", "content": record["output"]},
        ]
        return messages
    raise ValueError("not a chatglm3, openai or alpaca dataset line")
