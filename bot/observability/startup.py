"""Start-up log lines: what is enabled and where, secrets masked."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import structlog
from sqlalchemy.engine import make_url

from core.settings import KefuSettings

log = structlog.get_logger("kefu.startup")


def mask_url(url: str | None) -> str | None:
    """``https://user:secret@host/path?key=...`` -> ``https://user:***@host/path`` (no query)."""
    if not url:
        return url
    if "+" in url.split("://", 1)[0]:  # a SQLAlchemy URL (postgresql+asyncpg://...)
        return make_url(url).render_as_string(hide_password=True)
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        credentials, host = netloc.rsplit("@", 1)
        user = credentials.split(":", 1)[0]
        netloc = f"{user}:***@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _set(secret: Any) -> bool:
    return bool(secret is not None and secret.get_secret_value())


def startup_lines(settings: KefuSettings) -> list[tuple[str, dict[str, Any]]]:
    """(event, fields) of each start-up line, one per area."""
    knowledge = settings.knowledge
    lines: list[tuple[str, dict[str, Any]]] = [
        (
            "startup.server",
            {
                "listen": f"{settings.server.host}:{settings.server.port}",
                "rest_webhook": "/webhooks/rest/webhook",
                "web_chat": "/",
                "agent_workspace": "/agent",
                "docs": "/docs",
                "metrics": "/metrics" if settings.metrics.enabled else None,
                "metrics_protection": "token"
                if _set(settings.metrics.token)
                else f"networks {','.join(settings.metrics.trusted_networks)}",
            },
        ),
        ("startup.storage", {"database": mask_url(settings.database_url)}),
        (
            "startup.knowledge",
            {
                "sources": [str(p) for p in knowledge.source_dirs],
                "embedder": knowledge.embedder_model or knowledge.embedder,
                "chroma": mask_url(knowledge.chroma_url) or "embedded",
                "retrieval": knowledge.retrieval_mode,
            },
        ),
        (
            "startup.llm",
            {
                "backend": settings.llm.backend,
                "model": settings.llm.model,
                "base_url": mask_url(settings.llm.base_url),
                "api_key_set": _set(settings.llm.api_key),
            },
        ),
    ]
    return lines + _channel_lines(settings)


def _channel_lines(settings: KefuSettings) -> list[tuple[str, dict[str, Any]]]:
    lines: list[tuple[str, dict[str, Any]]] = []
    telegram = settings.telegram
    if telegram.enabled:
        webhook = telegram.mode == "webhook"
        lines.append(
            (
                "startup.telegram",
                {
                    "mode": telegram.mode,
                    "webhook_path": telegram.webhook_path if webhook else None,
                    "webhook_url": mask_url(telegram.webhook_url) if webhook else None,
                    "api": mask_url(telegram.api_base_url),
                    "token_set": _set(telegram.token),
                    "secret_set": _set(telegram.webhook_secret),
                },
            )
        )
    if settings.discord.enabled:
        lines.append(("startup.discord", {"token_set": _set(settings.discord.token)}))
    wecom = settings.wecom
    if wecom.enabled:
        lines.append(
            (
                "startup.wecom",
                {
                    "corp_id": wecom.corp_id,
                    "agent_id": wecom.agent_id,
                    "callback_path": wecom.callback_path,
                    "api": mask_url(wecom.api_base_url),
                    "secret_set": _set(wecom.secret),
                },
            )
        )
    enabled = ["rest", "web"] + [
        name for name in ("telegram", "discord", "wecom") if getattr(settings, name).enabled
    ]
    lines.append(("startup.channels", {"enabled": enabled}))
    return lines


def log_startup(settings: KefuSettings) -> None:
    """Writes the start-up lines (call once, after logging is configured)."""
    for event, fields in startup_lines(settings):
        log.info(event, **{k: v for k, v in fields.items() if v is not None})
