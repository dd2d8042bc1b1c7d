"""Settings that only make sense together, checked before any start-up work.

Each problem names the environment variable to set, so ``kefu serve`` can say what is wrong
in one line, before it opens the database or loads a model, and without a traceback.
"""

from __future__ import annotations

from pydantic import BaseModel, SecretStr, ValidationError

from core.settings import KefuSettings


def env_name(*path: str | int) -> str:
    """``("telegram", "token")`` -> ``KEFU_TELEGRAM__TOKEN``."""
    return "KEFU_" + "__".join(str(part).upper() for part in path)


def startup_problems(settings: KefuSettings) -> list[str]:
    """What must be fixed before ``kefu serve`` can run, one sentence each."""
    problems: list[str] = []
    if settings.telegram.enabled:
        problems += _missing(settings.telegram, "telegram", ["token"])
        if settings.telegram.mode == "webhook":
            problems += _missing(settings.telegram, "telegram", ["webhook_secret"])
    if settings.discord.enabled:
        problems += _missing(settings.discord, "discord", ["token"])
    if settings.wecom.enabled:
        needed = ["corp_id", "agent_id", "secret", "token", "encoding_aes_key"]
        problems += _missing(settings.wecom, "wecom", needed)
    problems += _shop_problems(settings)
    if settings.llm.backend == "transformers" and not settings.llm.model:
        problems.append(f"{env_name('llm', 'model')} (a model folder) is required for transformers")
    return problems


def _shop_problems(settings: KefuSettings) -> list[str]:
    orders, catalogue = settings.shop.orders, settings.shop.catalogue
    needed = [
        (orders.backend == "sql" and orders.sql.url is None, ("shop", "orders", "sql", "url")),
        (
            orders.backend == "http" and not orders.http.order_url,
            ("shop", "orders", "http", "order_url"),
        ),
        (
            catalogue.backend == "sql" and catalogue.sql.url is None,
            ("shop", "catalogue", "sql", "url"),
        ),
        (
            catalogue.backend == "http" and not catalogue.http.url,
            ("shop", "catalogue", "http", "url"),
        ),
    ]
    return [
        f"{env_name(*path)} is required when {env_name(*path[:2], 'backend')} is {path[2]}"
        for missing, path in needed
        if missing
    ]


def describe_validation_error(error: ValidationError) -> list[str]:
    """One line per invalid setting, naming its variable; never the value (it may be secret)."""
    return [f"{env_name(*item['loc'])}: {item['msg']}" for item in error.errors()]


def _missing(section: BaseModel, name: str, fields: list[str]) -> list[str]:
    problems = []
    for field in fields:
        value = getattr(section, field)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if value is None or value == "":
            problems.append(f"{env_name(name, field)} is required when {name} is enabled")
    return problems
