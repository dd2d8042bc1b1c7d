"""The one shape in which the dialogue room asks an LLM for help, and reading its JSON.

The composition root adapts whatever backend is configured into :data:`LLMComplete`; the
dialogue code never imports a backend. Every use is optional and falls back to the rules or
the classifier when the LLM fails, times out or answers nonsense.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

LLMComplete = Callable[[str], Awaitable[str]]
"""A prompt in, the model's text out. Raises (``LLMError``, ``TimeoutError``) on failure."""


def parse_json_object(answer: str) -> dict[str, Any] | None:
    """The first JSON object in an LLM's answer (models like to wrap it in prose or ```json).

    Returns:
        The object, or None when the answer holds no valid JSON object.
    """
    start = answer.find("{")
    while start != -1:
        try:
            value, _ = json.JSONDecoder().raw_decode(answer[start:])
        except json.JSONDecodeError:
            start = answer.find("{", start + 1)
            continue
        return value if isinstance(value, dict) else None
    return None
