"""The WeCom adapter: encrypted callbacks in, message/send out, against the fake WeCom."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from bot.adapters.wecom import WeComAdapter
from bot.adapters.wecom.cli import app as wecom_cli
from core.config.channels import WeComSettings
from core.errors import AdapterError
from core.types import ConversationKey, OutgoingMessage
from tests.fakes.pipeline import LONG_WORDS, TEXT_ONLY, ScriptedPipeline
from tests.fakes.runtime import local_runtime
from tests.fakes.server import serve_routes
from tests.fakes.wecom import (
    AES_KEY,
    AGENT_ID,
    CORP_ID,
    SECRET,
    TOKEN,
    CallbackSender,
    FakeWeCom,
    event_xml,
    image_xml,
    text_xml,
)


@dataclass
class Setup:
    adapter: WeComAdapter
    api: FakeWeCom
    wecom: CallbackSender
    pipeline: ScriptedPipeline


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
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
    pipeline = ScriptedPipeline()
    async with local_runtime(pipeline) as runtime:
        adapter = runtime.attach(WeComAdapter(settings, runtime.runner, runtime.shared))
        async with serve_routes(adapter.routes()) as base:
            await adapter.start()
            wecom = CallbackSender(base + settings.callback_path)
            try:
                yield Setup(adapter, api, wecom, pipeline)
            finally:
                await wecom.close()
                await runtime.drain()
                await adapter.stop()
                await api.stop()


async def _until(condition: Callable[[], object], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_callback_url_verification_returns_the_decrypted_echo(setup: Setup) -> None:
    status, body = await setup.wecom.get(setup.wecom.verification(echo="6219418472983468523"))
    assert (status, body) == (200, "6219418472983468523")


async def test_customer_question_is_acknowledged_at_once_and_answered_by_message_send(
    setup: Setup,
) -> None:
    request = setup.wecom.message(text_xml("zhangsan", "slow 多久发货？", msg_id=1001))
    started = time.monotonic()
    status, body = await setup.wecom.post(request)
    assert (status, body) == (200, "")
    assert time.monotonic() - started < 0.25, "WeCom must not wait for the answer"
    await _until(lambda: setup.api.sent)
    [sent] = setup.api.sent
    assert (sent["touser"], sent["agentid"], sent["msgtype"]) == ("zhangsan", AGENT_ID, "text")
    content = sent["text"]["content"]
    assert content.startswith("Answer to: slow 多久发货？")
    assert "1. Talk to a human\n2. More about shipping\n回复数字即可选择。" in content
    assert content.endswith("来源：Shipping FAQ")
    assert setup.pipeline.received[0].key == ConversationKey("wecom", "zhangsan", "zhangsan")


async def test_numbered_reply_picks_the_offered_option(setup: Setup) -> None:
    for number, text in enumerate(["2", "Shipping?", "１", "9"], start=1):
        await setup.wecom.post(setup.wecom.message(text_xml("lisi", text, msg_id=number)))
        await _until(lambda: len(setup.api.sent) == number)  # noqa: B023 (awaited at once)
    # Numbers mean options only when options were offered, and only the ones offered.
    assert setup.pipeline.texts == ["2", "Shipping?", "/human", "9"]


async def test_retried_callbacks_are_answered_once_but_same_second_messages_all_are(
    setup: Setup,
) -> None:
    now = int(time.time())
    first = setup.wecom.message(text_xml("wangwu", "退货", msg_id=2001, create_time=now))
    second = setup.wecom.message(text_xml("wangwu", "换货", msg_id=2002, create_time=now))
    for request in (first, first, first, second, first):  # WeCom retries up to three times
        assert (await setup.wecom.post(request))[0] == 200
    await _until(lambda: len(setup.api.sent) >= 2)
    await asyncio.sleep(0.1)
    assert setup.pipeline.texts == ["退货", "换货"]
    assert len(setup.api.sent) == 2


async def test_long_reply_is_split_under_2048_bytes(setup: Setup) -> None:
    await setup.wecom.post(setup.wecom.message(text_xml("zhaoliu", "long", msg_id=3001)))
    await _until(lambda: len(setup.api.sent) >= 9)
    await asyncio.sleep(0.1)
    texts = setup.api.texts_to("zhaoliu")
    assert all(len(text.encode()) <= 2048 for text in texts)
    assert " ".join(texts).split() == LONG_WORDS.split()


async def test_image_gets_the_text_only_answer_and_events_get_none(setup: Setup) -> None:
    await setup.wecom.post(setup.wecom.message(event_xml("sunqi")))
    await setup.wecom.post(setup.wecom.message(image_xml("sunqi", msg_id=4001)))
    await _until(lambda: setup.api.sent)
    await asyncio.sleep(0.05)
    assert setup.api.texts_to("sunqi") == [TEXT_ONLY]
    assert setup.pipeline.received[0].parts == ("image",)


async def test_access_token_is_cached_and_refreshed_when_expired(setup: Setup) -> None:
    key = ConversationKey("wecom", "zhou", "zhou")
    await setup.adapter.send(key, OutgoingMessage(text="one"))
    await setup.adapter.send(key, OutgoingMessage(text="two"))
    assert setup.api.token_requests == 1
    setup.api.expire_tokens()
    await setup.adapter.send(key, OutgoingMessage(text="three"))
    assert setup.api.token_requests == 2
    assert setup.api.texts_to("zhou") == ["one", "two", "three"]


async def test_send_to_an_unreachable_user_raises_adapter_error(setup: Setup) -> None:
    setup.api.unreachable_users.add("gone")
    with pytest.raises(AdapterError, match="not reachable"):
        await setup.adapter.send(ConversationKey("wecom", "gone", "gone"), OutgoingMessage("hi"))


@pytest.mark.parametrize(
    ("tamper", "status"),
    [
        ("signature", 403),
        ("stale", 403),
        ("corp_id", 403),
        ("aes_key", 400),
        ("missing", 400),
        ("not_xml", 400),
    ],
)
async def test_forged_or_broken_callbacks_are_refused_without_an_answer(
    setup: Setup, tamper: str, status: int
) -> None:
    request = setup.wecom.message(text_xml("eve", "hi", msg_id=5001))
    if tamper == "signature":
        request.query["msg_signature"] = "0" * 40
    elif tamper == "stale":
        request = setup.wecom.message(text_xml("eve", "hi", 5001), timestamp=int(time.time()) - 600)
    elif tamper == "corp_id":
        other = CallbackSender(setup.wecom.url, corp_id="wwOTHERCORP0000000")
        request = other.message(text_xml("eve", "hi", msg_id=5001))
        await other.close()
    elif tamper == "aes_key":
        other = CallbackSender(setup.wecom.url, aes_key="B" * 43)
        request = other.message(text_xml("eve", "hi", msg_id=5001))
        await other.close()
    elif tamper == "missing":
        del request.query["nonce"]
    elif tamper == "not_xml":
        request.body = "{not xml"
    assert (await setup.wecom.post(request))[0] == status
    assert (await setup.wecom.get(setup.wecom.verification()))[0] == 200  # still serving
    await asyncio.sleep(0.05)
    assert setup.pipeline.received == []


async def test_verify_url_cli_prints_the_echo_or_the_reason() -> None:
    args = [
        "verify-url",
        "--token",
        "QDG6eK",
        "--aes-key",
        "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
        "--msg-signature",
        "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
        "--timestamp",
        "1409659589",
        "--nonce",
        "263014780",
        "--echostr",
        "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==",
    ]
    runner = CliRunner()
    ok = runner.invoke(wecom_cli, [*args, "--corp-id", "wx5823bf96d3bd56c7"])
    assert (ok.exit_code, ok.output) == (0, "1616140317555161061\n")
    wrong_corp = runner.invoke(wecom_cli, [*args, "--corp-id", "wx0000000000000000"])
    assert wrong_corp.exit_code == 1
    assert "CorpID" in wrong_corp.output
    wrong_token = runner.invoke(wecom_cli, [*args[:2], "QDG6eX", *args[3:], "--corp-id", "x"])
    assert wrong_token.exit_code == 1
    assert "signature mismatch" in wrong_token.output


async def test_an_answer_wecom_was_too_busy_for_is_sent_again_once(setup: Setup) -> None:
    setup.api.busy_answers = 1
    await setup.wecom.post(setup.wecom.message(text_xml("zhaoliu", "多久发货？", msg_id=3001)))
    await _until(lambda: setup.api.sent, timeout=5)
    await asyncio.sleep(0.7)
    assert setup.api.send_attempts == 2
    assert [m["text"]["content"].split("\n")[0] for m in setup.api.sent] == [
        "Answer to: 多久发货？"
    ]


async def test_three_quick_messages_per_user_are_answered_in_order(setup: Setup) -> None:
    users = [f"user{n}" for n in range(10)]

    async def customer(u: int, user: str) -> list[int]:
        statuses = []  # one user's callbacks one after another; the users all at once
        for n, text in enumerate(("slow 一", "二", "三"), start=1):
            request = setup.wecom.message(text_xml(user, text, msg_id=5000 + u * 10 + n))
            statuses.append((await setup.wecom.post(request))[0])
        return statuses

    results = await asyncio.gather(*(customer(u, user) for u, user in enumerate(users)))
    assert {status for statuses in results for status in statuses} == {200}
    await _until(lambda: len(setup.api.sent) == 3 * len(users), timeout=20)
    for user in users:
        firsts = [line.split("\n")[0] for line in setup.api.texts_to(user)]
        assert firsts == ["Answer to: slow 一", "Answer to: 二", "Answer to: 三"], user
