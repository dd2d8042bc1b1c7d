"""The real Kefu behind the Discord adapter, against the fake Discord."""

from __future__ import annotations

import asyncio

from pydantic import SecretStr

from bot.adapters.discord import DiscordAdapter
from bot.app import Kefu
from core.config.channels import DiscordSettings
from tests.bot.adapters.discord.test_discord_adapter import DM_CHANNEL, payload
from tests.fakes.discord import APPLICATION_ID, TOKEN, FakeDiscord


async def test_demo_question_answered_and_non_admin_kb_command_refused(platform_kefu: Kefu) -> None:
    fake = FakeDiscord()
    await fake.start()
    settings = DiscordSettings(
        enabled=True,
        token=SecretStr(TOKEN),
        api_base_url=fake.api_base_url,
        gateway_url=fake.gateway_url,
    )
    adapter = DiscordAdapter(settings, platform_kefu.runner, platform_kefu.shared)
    platform_kefu.add_adapter(adapter)
    try:
        await adapter.start()
        await asyncio.wait_for(fake.ready.wait(), 5)
        question = payload("dm_message_create", content="How long does delivery take?")
        await fake.dispatch("MESSAGE_CREATE", question)
        # Bo (1400000000000000002) is not in settings.admins for discord.
        await fake.dispatch("INTERACTION_CREATE", payload("interaction_kb_search"))
        [answer] = await fake.wait_for("POST", f"/channels/{DM_CHANNEL}/messages")
        [refusal] = await fake.wait_for("POST", f"/webhooks/{APPLICATION_ID}/")
    finally:
        await adapter.stop()
        await fake.stop()
    assert "16:00" in answer.body["content"]
    assert "Sources:" in answer.body["content"]
    assert "administrators only" in refusal.body["content"]
    assert refusal.body["flags"] & 64  # only the person who tried sees it
