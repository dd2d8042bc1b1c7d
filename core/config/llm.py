"""Language-model backend settings."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, SecretStr


class LLMSettings(BaseModel):
    backend: Literal["none", "openai", "transformers"] = "none"
    model: str | None = None
    base_url: str | None = None
    api_key: SecretStr | None = None
    timeout_s: float = 30.0
