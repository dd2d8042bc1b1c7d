"""Logging settings."""

from __future__ import annotations

from pydantic import BaseModel, Field


class LoggingSettings(BaseModel):
    level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")
    json_logs: bool = Field(default=False, description="One JSON object per log line.")
