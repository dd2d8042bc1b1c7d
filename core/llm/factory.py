"""Builds the configured chat backend: the one place that knows every backend, so the
backends depend on :mod:`core.llm.base` and nothing depends back on them."""

from __future__ import annotations

from core.config.llm import LLMSettings
from core.llm.base import ChatBackend
from core.llm.fallback import FailSafeBackend


def make_backend(settings: LLMSettings) -> ChatBackend | None:
    """The configured backend, wrapped so that failures fall back fast; ``None`` for ``none``.

    Nothing connects or loads here: the openai client connects on the first request and a
    local model loads on the first request (or ``await backend.load()`` on
    :class:`core.llm.transformers_backend.TransformersBackend` to warm it at start-up).

    Raises:
        ConfigError: the settings are incomplete (no model, Azure without api-version).
    """
    inner: ChatBackend
    if settings.backend == "none":
        return None
    if settings.backend == "openai":
        from core.llm.openai_backend import OpenAIBackend

        inner = OpenAIBackend(settings)
    else:
        from core.llm.transformers_backend import TransformersBackend  # imports torch

        inner = TransformersBackend(settings)
    return FailSafeBackend(inner, cooldown_s=settings.failure_cooldown_s)
