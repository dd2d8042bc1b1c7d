"""The real Kefu behind the WeCom adapter, against the fake WeCom."""

from __future__ import annotations

import asyncio
import time

from pydantic import SecretStr

from bot.adapters.wecom import WeComAdapter
from bot.app import Kefu
from core.config.channels import WeComSettings
from tests.fakes.server import serve_routes
from tests.fakes.wecom import (
    AES_KEY,
    AGENT_ID,
    CORP_ID,
    SECRET,
    TOKEN,
    CallbackSender,
    FakeWeCom,
    text_xml,
)


async def test_demo_question_answered_and_non_admin_kb_reload_refused(platform_kefu: Kefu) -> None:
    api = FakeWeCom()
    await api.start()
    settings = WeComSettings(
        enabled=True,
        corp_id=CORP_ID,
        agent_id=AGENT_ID,
        secret=SecretStr(SECRET),
        token=SecretStr(TOKEN),
        encoding_aes_key=SecretStr(AES_KEY),
        api_base_url=api.url,
    )
    adapter = WeComAdapter(settings, platform_kefu.runner, platform_kefu.shared)
    platform_kefu.add_adapter(adapter)
    async with serve_routes(adapter.routes()) as base:
        await adapter.start()
        wecom = CallbackSender(base + settings.callback_path)
        try:
            await wecom.post(wecom.message(text_xml("zhangsan", "下单后多久能收到货？", 1)))
            await wecom.post(wecom.message(text_xml("zhangsan", "/kb reload", 2)))
            deadline = time.monotonic() + 5
            while len(api.sent) < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
        finally:
            await wecom.close()
            await adapter.stop()
            await api.stop()
    answer, refusal = api.texts_to("zhangsan")
    assert "16:00" in answer and "来源：" in answer
    assert "administrators only" in refusal  # the command itself is not Chinese
