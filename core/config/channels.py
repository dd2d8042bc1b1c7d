"""Platform channel settings (Telegram, Discord, WeCom). Every channel is off by default.

Environment variables nest with ``__``: ``KEFU_TELEGRAM__TOKEN``, ``KEFU_WECOM__CORP_ID``.
Checks that need several fields together (a token when a channel is enabled) happen when the
adapter is built, so a deployment without Telegram never has to configure it.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator

_TELEGRAM_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


class TelegramSettings(BaseModel):
    enabled: bool = False
    token: SecretStr | None = Field(default=None, description="Bot token from @BotFather.")
    mode: Literal["polling", "webhook"] = Field(
        default="polling",
        description="polling: long polling (development, one worker); webhook: Telegram posts "
        "updates to `webhook_path` on Kefu's server (production, several workers).",
    )
    api_base_url: str = Field(
        default="https://api.telegram.org/bot",
        description="Bot API base URL; the token is appended (or replaces `{token}`). Point it "
        "at your own Bot API server if you run one.",
    )
    file_base_url: str = Field(
        default="https://api.telegram.org/file/bot", description="Bot API file base URL."
    )
    webhook_url: str | None = Field(
        default=None,
        description="Public HTTPS URL of `webhook_path`. When set, Kefu calls setWebhook at "
        "start; leave empty when you register the webhook yourself.",
    )
    webhook_path: str = Field(
        default="/webhooks/telegram", description="Route on Kefu's server for webhook mode."
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="Required in webhook mode: Telegram echoes it in the "
        "X-Telegram-Bot-Api-Secret-Token header and requests without it are refused (403).",
    )
    drop_pending_updates: bool = Field(
        default=False, description="Discard updates that queued up while Kefu was down."
    )
    poll_timeout_s: int = Field(default=30, ge=0, description="Long-polling timeout.")
    max_concurrent_updates: int = Field(
        default=64,
        ge=1,
        description="Updates processed at once; one chat's updates are still handled in order.",
    )
    stream_drafts: bool = Field(
        default=True,
        description="In private chats, show a generated answer while the LLM writes it "
        "(sendMessageDraft, Bot API 9.3+); the finished answer is then sent as a normal message. "
        "Only with an LLM configured.",
    )
    draft_interval_s: float = Field(
        default=0.6,
        ge=0.1,
        description="Shortest time between two draft updates of one answer.",
    )

    @field_validator("api_base_url", "file_base_url")
    @classmethod
    def _token_goes_after_bot(cls, value: str) -> str:
        # The token is appended: without "/bot" it would run into the host name and end up
        # in an "invalid URL" error message.
        if "{token}" not in value and not value.rstrip().endswith("/bot"):
            raise ValueError("must end with /bot (the token is appended) or contain {token}")
        return value.rstrip()

    @field_validator("webhook_secret")
    @classmethod
    def _secret_charset(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram's own rule for secret_token; anything else makes setWebhook fail later.
        if value is not None and not _TELEGRAM_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError("webhook_secret: 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value


class DiscordSettings(BaseModel):
    enabled: bool = False
    token: SecretStr | None = Field(default=None, description="Bot token (Developer Portal).")
    api_base_url: str | None = Field(
        default=None,
        description="REST base URL (default https://discord.com/api/v10); for a proxy or tests.",
    )
    gateway_url: str | None = Field(
        default=None, description="Gateway URL (default wss://gateway.discord.gg/)."
    )
    sync_commands: bool = Field(
        default=True, description="Register the `/kb` slash commands at start."
    )
    command_guild_ids: list[int] = Field(
        default_factory=list,
        description="Register `/kb` in these guilds only (appears at once); empty: globally.",
    )


class WeComSettings(BaseModel):
    enabled: bool = False
    corp_id: str | None = Field(default=None, description="企业ID (CorpID).")
    agent_id: int | None = Field(default=None, description="AgentId of the self-built app.")
    secret: SecretStr | None = Field(
        default=None, description="The app's Secret, used to get access tokens."
    )
    token: SecretStr | None = Field(default=None, description="Callback Token (接收消息).")
    encoding_aes_key: SecretStr | None = Field(
        default=None, description="Callback EncodingAESKey (43 characters)."
    )
    callback_path: str = Field(
        default="/webhooks/wecom", description="Route on Kefu's server for the callback URL."
    )
    api_base_url: str = Field(default="https://qyapi.weixin.qq.com", description="API host.")
    max_timestamp_age_s: int = Field(
        default=300,
        ge=1,
        description="Callbacks whose timestamp is further than this from now are refused.",
    )
    request_timeout_s: float = Field(default=10.0, gt=0, description="HTTP timeout for the API.")
