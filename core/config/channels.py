"""Platform channel settings (Telegram, Discord, WeCom). Every channel is off by default."""

from __future__ import annotations

from pydantic import BaseModel, SecretStr


class TelegramSettings(BaseModel):
    enabled: bool = False
    token: SecretStr | None = None


class DiscordSettings(BaseModel):
    enabled: bool = False
    token: SecretStr | None = None


class WeComSettings(BaseModel):
    enabled: bool = False
    corp_id: str | None = None
