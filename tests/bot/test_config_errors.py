"""Configuration mistakes stop ``kefu serve`` with one line naming the variable: before any
start-up work, without a traceback, without printing a secret."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner

from bot.cli import app
from bot.logs import configure_logging
from core.config.logs import LoggingSettings

SECRET_TOKEN = "987654321:AAHsecret-token-value-that-must-not-leak"


def serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> tuple[int, str]:
    monkeypatch.chdir(tmp_path)
    for name, value in {"KEFU_DATA_DIR": str(tmp_path / "data"), **env}.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["serve"])
    return result.exit_code, result.output


def test_a_missing_channel_token_is_named_before_start_up_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, output = serve(tmp_path, monkeypatch, KEFU_TELEGRAM__ENABLED="true")
    assert code == 2
    assert "Configuration error: KEFU_TELEGRAM__TOKEN is required" in output
    assert "Traceback" not in output
    assert not (tmp_path / "data" / "kefu.db").exists()  # nothing was started


def test_an_invalid_value_names_its_variable_and_hides_the_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, output = serve(
        tmp_path,
        monkeypatch,
        KEFU_TELEGRAM__TOKEN=SECRET_TOKEN,
        KEFU_TELEGRAM__API_BASE_URL=f"https://api.telegram.org/{SECRET_TOKEN}",
        KEFU_WEB__ALLOWED_ORIGINS='["shop.example.com"]',
    )
    assert code == 2
    assert "KEFU_TELEGRAM__API_BASE_URL: Value error, must end with /bot" in output
    assert "KEFU_WEB__ALLOWED_ORIGINS" in output
    assert SECRET_TOKEN not in output and "Traceback" not in output


def test_web_admins_cannot_be_everyone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, output = serve(tmp_path, monkeypatch, KEFU_ADMINS='{"web": ["*"]}')
    assert code == 2
    assert "KEFU_ADMINS" in output and "anonymous visitor" in output


def test_tokens_in_log_lines_and_exceptions_are_masked(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(LoggingSettings())
    log = structlog.get_logger("test")
    try:
        raise RuntimeError(f"https://api.telegram.org/bot{SECRET_TOKEN}/getMe failed")
    except RuntimeError:
        log.exception("telegram.failed", header="Bearer kefu_abcdefghijklmnopqrstuvwxyz")
    printed = capsys.readouterr().err
    assert "telegram.failed" in printed
    assert SECRET_TOKEN not in printed
    assert "kefu_abcdefghijklmnopqrstuvwxyz" not in printed
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()
