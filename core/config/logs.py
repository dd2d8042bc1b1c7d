"""Logging settings."""

from __future__ import annotations

from pydantic import BaseModel, Field


class LoggingSettings(BaseModel):
    level: str = Field(
        default="INFO", description="Kefu's own log level: DEBUG, INFO, WARNING or ERROR."
    )
    json_logs: bool = Field(
        default=False,
        description="One JSON object per line on stderr (for a log shipper); false: readable "
        "console lines. Every command logs the same way; output meant for you goes to stdout.",
    )
    libraries_level: str = Field(
        default="WARNING",
        description="Level of third-party libraries' loggers (bm25s, pypdf, httpx, chromadb, "
        "telegram, discord, ...), which are routed through the same format.",
    )
