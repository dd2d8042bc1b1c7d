"""The Discord adapter with discord.py against the fake Discord (REST and gateway).

Gateway events are the JSON fixtures in ``payloads/``, shaped like real gateway payloads
(field for field, ids changed), dispatched through discord.py's own parser.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.adapters.discord import DiscordAdapter
from core.config.channels import DiscordSettings
from core.errors import AdapterError
from core.types import ConversationKey, OutgoingMessage
from tests.fakes.discord import APPLICATION_ID, TOKEN, FakeDiscord
from tests.fakes.pipeline import LONG_WORDS, TEXT_ONLY, ScriptedPipeline
from tests.fakes.runtime import local_runtime

PAYLOADS = Path(__file__).parent / "payloads"
DM_CHANNEL = "1300000000000000009"
GUILD_CHANNEL = "1300000000000000001"
MESSAGE_CONTENT_INTENT = 1 << 15


def payload(name: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text())
    data.update(changes)
    return data


@dataclass
class Setup:
    adapter: DiscordAdapter
    discord: FakeDiscord
    pipeline: ScriptedPipeline


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    fake = FakeDiscord()
    await fake.start()
    settings = DiscordSettings(
        enabled=True,
        token=SecretStr(TOKEN),
        api_base_url=fake.api_base_url,
        gateway_url=fake.gateway_url,
    )
    pipeline = ScriptedPipeline()
    async with local_runtime(pipeline) as runtime:
        adapter = runtime.attach(DiscordAdapter(settings, runtime.runner, runtime.shared))
        try:
            await adapter.start()
            await asyncio.wait_for(fake.ready.wait(), 5)
            yield Setup(adapter, fake, pipeline)
        finally:
            await runtime.drain()
            await adapter.stop()
            await fake.stop()


async def test_dm_question_is_answered_with_sources_and_buttons(setup: Setup) -> None:
    await setup.discord.dispatch("MESSAGE_CREATE", payload("dm_message_create"))
    [call] = await setup.discord.wait_for("POST", f"/channels/{DM_CHANNEL}/messages")
    body = call.body
    assert body["content"] == (
        "Answer to: How long does shipping to Canada take?\n\n*Sources: Shipping FAQ*"
    )
    buttons = body["components"][0]["components"]
    assert [b["label"] for b in buttons] == ["Talk to a human", "More about shipping"]
    assert buttons[0]["custom_id"] == "kefu:/human"
    assert all(len(b["custom_id"]) <= 100 for b in buttons)
    assert body["allowed_mentions"]["parse"] == []  # the bot never pings @everyone
    [incoming] = setup.pipeline.received
    assert incoming.key == ConversationKey("discord", DM_CHANNEL, "1400000000000000001")
    assert incoming.sender_name == "Ann Lee"


async def test_the_bot_needs_no_privileged_intent(setup: Setup) -> None:
    assert setup.discord.identify is not None
    assert setup.discord.identify["intents"] & MESSAGE_CONTENT_INTENT == 0


async def test_guild_messages_are_answered_only_when_addressed(setup: Setup) -> None:
    for name in ("guild_chatter", "guild_mention", "guild_reply_to_bot"):
        await setup.discord.dispatch("MESSAGE_CREATE", payload(name))
    calls = await setup.discord.wait_for("POST", f"/channels/{GUILD_CHANNEL}/messages", 2)
    await asyncio.sleep(0.1)
    assert setup.pipeline.texts == ["do you ship to Canada?", "and to Mexico?"]
    replied_to = [str(c.body["message_reference"]["message_id"]) for c in calls]
    assert replied_to == ["1443183458412789801", "1443183927000000001"]


async def test_replayed_event_is_answered_once(setup: Setup) -> None:
    event = payload("dm_message_create")
    for _ in range(3):
        await setup.discord.dispatch("MESSAGE_CREATE", copy.deepcopy(event))
    await setup.discord.wait_for("POST", f"/channels/{DM_CHANNEL}/messages")
    await asyncio.sleep(0.2)
    assert len(setup.pipeline.received) == 1
    assert len(setup.discord.channel_messages(DM_CHANNEL)) == 1


async def test_long_reply_is_split_at_2000_characters(setup: Setup) -> None:
    await setup.discord.dispatch("MESSAGE_CREATE", payload("dm_message_create", content="long"))
    await setup.discord.wait_for("POST", f"/channels/{DM_CHANNEL}/messages", 9)
    await asyncio.sleep(0.2)
    contents = [body["content"] for body in setup.discord.channel_messages(DM_CHANNEL)]
    assert all(len(content) <= 2000 for content in contents)
    assert len(contents) == len(setup.discord.calls_to("POST", "/channels/")), "none refused"
    assert " ".join(contents).split() == LONG_WORDS.split()


async def test_image_without_text_gets_the_text_only_answer(setup: Setup) -> None:
    await setup.discord.dispatch("MESSAGE_CREATE", payload("dm_image_only"))
    [call] = await setup.discord.wait_for("POST", f"/channels/{DM_CHANNEL}/messages")
    assert call.body["content"] == TEXT_ONLY
    assert setup.pipeline.received[0].parts == ("image",)


async def test_kb_commands_are_registered_for_administrators_only(setup: Setup) -> None:
    [sync] = setup.discord.calls_to("PUT", f"/applications/{APPLICATION_ID}/commands")
    [kb] = sync.body
    assert kb["name"] == "kb"
    assert int(kb["default_member_permissions"]) == 8  # ADMINISTRATOR
    assert sorted(option["name"] for option in kb["options"]) == ["reload", "search", "stats"]


async def test_slash_command_reaches_the_pipeline_as_text_and_is_answered_privately(
    setup: Setup,
) -> None:
    await setup.discord.dispatch("INTERACTION_CREATE", payload("interaction_kb_search"))
    [followup] = await setup.discord.wait_for("POST", f"/webhooks/{APPLICATION_ID}/")
    [callback] = setup.discord.calls_to("POST", "/interactions/1443190000000000001/")
    assert callback.body["type"] == 5  # deferred: "Kefu is thinking..."
    assert callback.body["data"]["flags"] & 64  # ephemeral
    [incoming] = setup.pipeline.received
    assert incoming.text == "/kb search refund policy"
    assert incoming.key.user_id == "1400000000000000002"
    assert followup.body["content"].startswith("Answer to: /kb search refund policy")
    assert followup.body["flags"] & 64


async def test_button_press_removes_the_buttons_and_answers_the_payload(setup: Setup) -> None:
    await setup.discord.dispatch("INTERACTION_CREATE", payload("interaction_button_dm"))
    [answer] = await setup.discord.wait_for("POST", f"/channels/{DM_CHANNEL}/messages")
    [callback] = setup.discord.calls_to("POST", "/interactions/1443191000000000001/")
    assert callback.body["type"] == 7  # update the pressed message...
    assert callback.body["data"]["components"] == []  # ...without its buttons
    assert setup.pipeline.texts == ["/human"]
    assert answer.body["content"].startswith("Answer to: /human")


async def test_agent_reply_is_delivered_later_by_conversation_key(setup: Setup) -> None:
    key = ConversationKey("discord", "1300000000000000077", "1400000000000000005")
    await setup.adapter.send(key, OutgoingMessage(text="Hi, this is Mei from support."))
    [body] = setup.discord.channel_messages("1300000000000000077")
    assert body["content"] == "Hi, this is Mei from support."


async def test_send_without_access_raises_adapter_error(setup: Setup) -> None:
    setup.discord.forbidden_channels.add("1300000000000000066")
    key = ConversationKey("discord", "1300000000000000066", "1400000000000000005")
    with pytest.raises(AdapterError, match="no permission"):
        await setup.adapter.send(key, OutgoingMessage(text="hello?"))
