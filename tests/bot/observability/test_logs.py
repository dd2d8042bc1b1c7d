"""Logs that parse: one JSON object per line for our events and for libraries, one line per
handled message, start-up lines with secrets masked."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from bot.logs import configure_logging
from bot.observability.startup import mask_url, startup_lines
from core.config.logs import LoggingSettings
from core.settings import KefuSettings
from tests.bot.conftest import ask

Client = TestClient[Any, Any]


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging(LoggingSettings(json_logs=True), stream=stream)
    yield stream
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()


def parsed(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_libraries_log_through_the_same_json_at_their_level(json_lines: io.StringIO) -> None:
    logging.getLogger("bm25s").debug("Building index")
    logging.getLogger("pypdf").info("chatter")
    logging.getLogger("telegram.ext.Updater").warning("getUpdates failed: 502")
    try:
        raise ConnectionError("Bad Gateway")
    except ConnectionError:
        logging.getLogger("telegram.ext").exception("network error")
    structlog.get_logger("bot").info("kb.reload.finished", chunks=3)

    lines = parsed(json_lines)
    assert [line["event"] for line in lines] == [
        "getUpdates failed: 502",
        "network error",
        "kb.reload.finished",
    ]
    assert lines[0]["logger"] == "telegram.ext.Updater" and lines[0]["level"] == "warning"
    assert "ConnectionError: Bad Gateway" in lines[1]["exception"]  # one line, not a traceback


async def test_one_line_per_handled_message_with_outcome_and_step_timings(
    client: Client, json_lines: io.StringIO
) -> None:
    await ask(client, "mia", "怎么开发票？")
    [turn] = [line for line in parsed(json_lines) if line["event"] == "pipeline.turn"]
    assert turn["channel"] == "rest" and turn["outcome"] == "faq"
    assert turn["conversation"] == "rest:mia:mia:"
    assert {"load_session", "understand", "retrieve"} <= turn["steps_ms"].keys()
    assert turn["ms"] >= max(turn["steps_ms"].values())
    assert "怎么开发票" not in json.dumps(turn, ensure_ascii=False)  # no message text at INFO


def test_start_up_lines_say_what_is_on_and_where_with_secrets_masked() -> None:
    settings = KefuSettings(
        storage={"database_url": "postgresql+asyncpg://kefu:hunter2@db:5432/kefu"},
        llm={
            "backend": "openai",
            "model": "qwen2.5-7b",
            "base_url": "http://vllm:8000/v1",
            "api_key": "sk-secret",
        },
        telegram={
            "enabled": True,
            "mode": "webhook",
            "token": "123:abc",
            "webhook_secret": "s3cret",
            "webhook_url": "https://bot.example.com/webhooks/telegram",
        },
        wecom={"enabled": True, "corp_id": "ww123", "agent_id": 1000002, "secret": "wecom-secret"},
    )
    settings.metrics.token = SecretStr("scrape-me")
    lines = dict(startup_lines(settings))
    text = json.dumps(lines)
    for secret in ("hunter2", "sk-secret", "123:abc", "s3cret", "wecom-secret", "scrape-me"):
        assert secret not in text
    assert lines["startup.storage"]["database"] == "postgresql+asyncpg://kefu:***@db:5432/kefu"
    assert lines["startup.llm"]["model"] == "qwen2.5-7b"
    assert lines["startup.telegram"]["webhook_path"] == "/webhooks/telegram"
    assert lines["startup.wecom"]["agent_id"] == 1000002
    assert lines["startup.server"]["metrics_protection"] == "token"
    assert lines["startup.channels"]["enabled"] == ["rest", "web", "telegram", "wecom"]


def test_urls_lose_their_passwords_and_queries() -> None:
    assert mask_url("https://user:pw@host:8000/v1?key=abc") == "https://user:***@host:8000/v1"
