"""A wrong or misplaced Telegram token is reported by its variable name, never printed."""

from __future__ import annotations

import traceback

import pytest
from pydantic import ValidationError

from bot.adapters.telegram import TelegramAdapter
from core.config.channels import TelegramSettings
from core.config.checks import describe_validation_error
from core.errors import AdapterError, ConfigError
from tests.bot.adapters.telegram.conftest import settings_for
from tests.fakes.pipeline import ScriptedPipeline
from tests.fakes.runtime import local_runtime
from tests.fakes.telegram import FakeTelegram

WRONG = "987654321:AAHwrong-token-that-telegram-rejects-xyz"


async def test_a_rejected_token_names_the_variable_and_is_not_shown(
    fake: FakeTelegram, pipeline: ScriptedPipeline
) -> None:
    async with local_runtime(pipeline) as runtime:
        adapter = TelegramAdapter(settings_for(fake, token=WRONG), runtime.runner, runtime.shared)
        with pytest.raises(ConfigError) as raised:
            await adapter.start()
        printed = "".join(traceback.format_exception(raised.value))
        await adapter.stop()
    assert "KEFU_TELEGRAM__TOKEN was rejected" in printed
    assert WRONG not in printed and "987654321" not in printed


async def test_an_unreachable_api_error_has_the_token_masked(pipeline: ScriptedPipeline) -> None:
    settings = TelegramSettings(
        enabled=True, token=WRONG, api_base_url="http://127.0.0.1:9/{token}/x/bot"
    )
    async with local_runtime(pipeline) as runtime:
        adapter = TelegramAdapter(settings, runtime.runner, runtime.shared)
        with pytest.raises(AdapterError) as raised:
            await adapter.start()
        printed = "".join(traceback.format_exception(raised.value))
        await adapter.stop()
    assert WRONG not in printed


def test_a_base_url_without_bot_is_refused_before_the_token_is_used() -> None:
    with pytest.raises(ValidationError) as raised:
        TelegramSettings(enabled=True, token=WRONG, api_base_url="https://api.telegram.org")
    [problem] = describe_validation_error(raised.value)
    assert problem.startswith("KEFU_API_BASE_URL") or "API_BASE_URL" in problem
    assert "must end with /bot" in problem
    assert WRONG not in problem
