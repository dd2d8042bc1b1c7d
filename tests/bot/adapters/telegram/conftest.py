from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest

from bot.adapters.base import MessageHandler
from bot.adapters.telegram import TelegramAdapter
from core.config.channels import TelegramSettings
from tests.fakes.pipeline import ScriptedPipeline
from tests.fakes.runtime import local_runtime
from tests.fakes.server import serve_routes
from tests.fakes.telegram import TOKEN, FakeTelegram

SECRET = "s3cret-Token_42"

Running = tuple[TelegramAdapter, str]
"""The started adapter and, in webhook mode, the full webhook URL on our server."""


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def pipeline() -> ScriptedPipeline:
    return ScriptedPipeline()


def settings_for(fake: FakeTelegram, **overrides: Any) -> TelegramSettings:
    values: dict[str, Any] = {
        "enabled": True,
        "token": TOKEN,
        "api_base_url": fake.base_url,
        "file_base_url": fake.base_url.replace("/bot", "/file/bot"),
        "mode": "webhook",
        "webhook_secret": SECRET,
        "poll_timeout_s": 1,
    }
    values.update(overrides)
    return TelegramSettings(**values)


@pytest.fixture
def running(
    fake: FakeTelegram, pipeline: ScriptedPipeline
) -> Callable[..., AbstractAsyncContextManager[Running]]:
    """``async with running(**settings) as (adapter, webhook_url)``: a started adapter whose
    webhook routes are served on a local port."""

    @asynccontextmanager
    async def start(
        handler: MessageHandler | None = None, **overrides: Any
    ) -> AsyncIterator[Running]:
        settings = settings_for(fake, **overrides)
        async with local_runtime(handler or pipeline) as runtime:
            adapter = runtime.attach(TelegramAdapter(settings, runtime.runner, runtime.shared))
            async with serve_routes(adapter.routes()) as base:
                await adapter.start()
                try:
                    yield adapter, base + settings.webhook_path
                finally:
                    await runtime.drain()
                    await adapter.stop()

    return start
