"""The real Kefu behind the Telegram adapter, against the fake Bot API server."""

from __future__ import annotations

from bot.adapters.telegram import TelegramAdapter
from bot.app import Kefu
from core.types import ConversationKey, OutgoingMessage
from tests.bot.adapters.telegram.conftest import SECRET, settings_for
from tests.fakes.server import serve_routes
from tests.fakes.telegram import FakeTelegram, message_update, visible_text


async def test_demo_question_answered_and_non_admin_kb_reload_refused(
    fake: FakeTelegram, platform_kefu: Kefu
) -> None:
    settings = settings_for(fake)
    adapter = TelegramAdapter(settings, platform_kefu.runner, platform_kefu.shared)
    platform_kefu.add_adapter(adapter)
    async with serve_routes(adapter.routes()) as base:
        await adapter.start()
        url = base + settings.webhook_path
        question = message_update(1, chat_id=77, user_id=77, text="How long does delivery take?")
        command = message_update(2, chat_id=77, user_id=77, text="/kb reload", message_id=2)
        for update in (question, command):
            assert await fake.post_webhook(url, update, SECRET) == 200
        await fake.wait_for("sendMessage", 2)
        await platform_kefu.deliver(
            ConversationKey("telegram", "77", "77"), OutgoingMessage("Agent Mei here.")
        )
        await fake.wait_for("sendMessage", 3)  # stored, then sent by the outbox
        await adapter.stop()
    answer, refusal, agent = (visible_text(text) for text in fake.sent_texts(77))
    assert "16:00" in answer and "Sources:" in answer
    assert "administrators only" in refusal
    assert agent == "Agent Mei here."
    assert fake.refused() == []
