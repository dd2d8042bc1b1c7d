"""Bad input gets a clear 4xx or a polite reply, never a 500, and the conversation goes on."""

from __future__ import annotations

import io
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import Kefu
from core.errors import StorageError, VectorStoreError
from core.events import EventKind
from core.types import ConversationKey
from knowledge.types import Passage
from tests.bot.conftest import BACKEND, ask

Client = TestClient[Any, Any]
WEBHOOK = "/webhooks/rest/webhook"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not valid UTF-8"),
        (b"[1, 2]", "JSON object"),
        (b'{"message": "hi"}', "'sender'"),
        (b'{"sender": "alice"}', "'message'"),
        (b'{"sender": "alice", "message": 42}', "'message'"),
        (b'{"sender": "", "message": "hi"}', "'sender'"),
        (b'{"sender": "a b/../c", "message": "hi"}', "'sender'"),
    ],
)
async def test_malformed_requests_get_a_clear_400(client: Client, body: bytes, error: str) -> None:
    headers = {"Content-Type": "application/json", **BACKEND}
    response = await client.post(WEBHOOK, data=body, headers=headers)
    assert response.status == 400
    assert error in (await response.json())["error"]


async def test_empty_message_gets_a_polite_prompt(client: Client) -> None:
    [reply] = await ask(client, "gina", "   \n\t ")
    assert "question" in reply["text"].lower()


async def test_huge_message_is_refused_politely_and_kept(client: Client, kefu: Kefu) -> None:
    huge = "退货" * 50_000
    [reply] = await ask(client, "hank", huge)
    assert "4000" in reply["text"]
    [user_event, _] = await kefu.store.events(ConversationKey("rest", "hank", "hank"))
    assert user_event.text == huge  # nothing the customer wrote is lost


async def test_oversized_body_is_rejected_with_413(client: Client) -> None:
    payload = b'{"sender": "ivan", "message": "' + b"x" * 2_000_000 + b'"}'
    response = await client.post(WEBHOOK, data=io.BytesIO(payload), headers=BACKEND)
    assert response.status == 413


async def test_control_characters_are_ignored(
    client: Client, demo_faq: dict[str, dict[str, str]]
) -> None:
    [reply] = await ask(client, "judy", "\x00怎么开\x07发票？\x1b")
    assert reply["text"] == demo_faq["invoices-request-zh"]["answer"]


async def test_broken_vector_store_gives_an_apology_and_the_conversation_goes_on(
    client: Client,
    kefu: Kefu,
    monkeypatch: pytest.MonkeyPatch,
    demo_faq: dict[str, dict[str, str]],
) -> None:
    def broken(query: str, k: int = 5, filters: object = None) -> list[Passage]:
        raise VectorStoreError("chroma is down")

    with monkeypatch.context() as patch:
        patch.setattr(kefu.knowledge, "search", broken)
        [reply] = await ask(client, "kim", "How long is the warranty?")
    assert "knowledge base is unavailable" in reply["text"]
    [reply] = await ask(client, "kim", "How long is the warranty?")
    assert reply["text"] == demo_faq["warranty-period-en"]["answer"]


async def test_database_failure_gives_an_apology_not_a_500(
    client: Client, kefu: Kefu, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise StorageError("database is gone")

    monkeypatch.setattr(kefu.store, "append_event", broken)
    [reply] = await ask(client, "liam", "退款多久能到账？")
    assert "稍后再试" in reply["text"]


async def test_redelivered_message_is_answered_once(client: Client, kefu: Kefu) -> None:
    body = {"sender": "mona", "message": "怎么开发票？", "message_id": "m-1"}
    first = await (await client.post(WEBHOOK, json=body, headers=BACKEND)).json()
    again = await (await client.post(WEBHOOK, json=body, headers=BACKEND)).json()
    assert len(first) == 1
    assert again == first  # the stored reply, so a client may retry safely
    events = await kefu.store.events(ConversationKey("rest", "mona", "mona"))
    assert [e.kind for e in events].count(EventKind.USER_MESSAGE) == 1


async def test_non_admin_command_is_refused_and_recorded(client: Client, kefu: Kefu) -> None:
    [reply] = await ask(client, "nina", "/kb reload")
    assert "administrators only" in reply["text"] or "仅限管理员" in reply["text"]
    events = await kefu.store.events(
        ConversationKey("rest", "nina", "nina"), kinds=[EventKind.ADMIN_COMMAND]
    )
    assert events[0].payload == {"command": "kb reload", "allowed": False}
