"""Structured logging with dotted event names (``kb.reload.finished``), for every command.

Kefu's own structlog events and the standard-library loggers of third-party packages go
through one formatter to one stream (stderr by default): JSON lines or readable console lines.
Libraries log at ``libraries_level`` (WARNING by default), so ``DEBUG:bm25s:`` lines and
pypdf's chatter stay out, and their tracebacks become one field of one JSON line.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

from core.config.logs import LoggingSettings
from core.untrusted import mask_tokens

LIBRARY_LOGGERS = (
    "bm25s",
    "pypdf",
    "httpx",
    "httpcore",
    "chromadb",
    "urllib3",
    "asyncio",
    "aiohttp",
    "telegram",
    "discord",
    "openai",
    "jieba",
    "sentence_transformers",
    "transformers",
    "alembic",
    "sqlalchemy",
)
"""Named explicitly because some set their own level at import (jieba, bm25s)."""


class _CurrentStderr:
    """Whatever ``sys.stderr`` is when a line is written (test runners and ``kefu chat`` swap
    it), so a configuration made once never writes to a closed stream."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _level(name: str, default: int) -> int:
    level = logging.getLevelName(name.upper())
    return level if isinstance(level, int) else default


def configure_logging(settings: LoggingSettings, stream: TextIO | None = None) -> None:
    """Routes structlog and standard logging to ``stream`` (stderr), as JSON or console lines."""
    out: TextIO = stream or _CurrentStderr()  # type: ignore[assignment]
    level = _level(settings.level, logging.INFO)
    libraries = _level(settings.libraries_level, logging.WARNING)
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if settings.json_logs
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, mask_secrets, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                mask_secrets,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(libraries)
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(libraries)


def mask_secrets(
    logger: object, method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Masks token-shaped text in every field (exception texts included): a token that slipped
    into an error message never reaches the log."""
    for name, value in event.items():
        if isinstance(value, str):
            event[name] = mask_tokens(value)
    return event
