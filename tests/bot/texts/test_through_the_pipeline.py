"""A shop's company name and text files reach the customer through the real entry points."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import Kefu
from core.config.texts import CompanyNames, CompanySettings, TextsSettings
from core.settings import KefuSettings
from core.types import ConversationKey, IncomingMessage
from tests.bot.conftest import ask
from tests.fakes.openai_server import FakeOpenAIServer, Reply

Client = TestClient[Any, Any]


@pytest.fixture
def settings(settings: KefuSettings, tmp_path: Path) -> KefuSettings:
    """The shared settings with a shop's own company name and texts folder."""
    texts = tmp_path / "texts"
    texts.mkdir()
    (texts / "en.yaml").write_text(
        "chat:\n  human_button: Chat with Yunfan staff\n", encoding="utf-8"
    )
    (texts / "ja.yaml").write_text(
        "chat:\n  greeting: こんにちは！{company}のサポートです。\n", encoding="utf-8"
    )
    settings.texts = TextsSettings(dir=texts)
    settings.company = CompanySettings(
        name=CompanyNames.model_validate({"zh": "云帆数码", "en": "Yunfan Digital", "ja": "雲帆"})
    )
    return settings


async def test_the_greeting_names_the_shops_own_company(client: Client) -> None:
    [reply] = await ask(client, "ann", "/start")
    assert "Yunfan Digital" in reply["text"]
    [reply] = await ask(client, "bo", "你好")
    assert "云帆数码" in reply["text"] and "星河" not in reply["text"]


async def test_an_override_file_changes_the_reply(client: Client) -> None:
    [reply] = await ask(client, "cy", "What is the weather on Mars tomorrow?")
    assert reply["custom"]["answer_kind"] == "dont_know"
    assert [b["title"] for b in reply["buttons"]] == ["Chat with Yunfan staff"]


async def test_a_dropped_in_language_answers_a_customer_whose_platform_names_it(
    kefu: Kefu,
) -> None:
    key = ConversationKey("telegram", "42", "42")
    hello = IncomingMessage("m1", key, "/start", locale="ja-JP")
    [reply] = await kefu.handle(hello)
    assert reply.text == "こんにちは！雲帆のサポートです。"
    assert reply.language == "ja"
    question = IncomingMessage("m2", key, "What is the weather on Mars tomorrow?", locale="ja")
    [dont_know] = await kefu.handle(question)
    assert dont_know.language == "ja"
    assert dont_know.text.startswith("Sorry, I couldn't find an answer")  # no ja text: English
    assert dont_know.buttons[0].title == "Chat with Yunfan staff"


async def test_the_llm_system_prompt_names_the_shops_company(
    llm_client: Client, llm_server: FakeOpenAIServer
) -> None:
    llm_server.enqueue(Reply(text="Laptops have a 2-year warranty [1]."))
    await ask(llm_client, "di", "How long is the laptop warranty?")
    system = llm_server.requests[-1].body["messages"][0]["content"]
    assert "Yunfan Digital" in system
