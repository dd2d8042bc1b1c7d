"""What the bot says and in whose name (``KEFU_TEXTS__...``, ``KEFU_COMPANY__...``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class CompanyNames(BaseModel):
    """The company's name per language; more languages by setting them (``ja = "..."``)."""

    model_config = ConfigDict(extra="allow")

    zh: str = Field(default="星河电子", description="The company's name in Chinese texts.")
    en: str = Field(
        default="Xinghe Electronics",
        description="The company's name in English texts, and in a language without its own.",
    )

    def by_language(self) -> dict[str, str]:
        """Every configured name, ``{"zh": ..., "en": ..., "ja": ...}``."""
        return {key: str(value) for key, value in self.model_dump().items()}


class CompanySettings(BaseModel):
    """The shop the bot speaks for: ``{company}`` in texts and in the LLM system prompts."""

    name: CompanyNames = Field(default_factory=CompanyNames)


class TextsSettings(BaseModel):
    """Where the bot's texts come from (the bundled ones are ``bot/texts/<lang>.yaml``)."""

    dir: Path | None = Field(
        default=None,
        description="A folder of `<lang>.yaml` files (same keys as `bot/texts/en.yaml`) that "
        "override the bundled texts or add a language, e.g. `ja.yaml`; a key a language lacks "
        "falls back to English.",
    )
