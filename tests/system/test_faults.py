"""Faults a deployment meets (issue 12): a worker killed mid-turn, a graceful restart with turns
in flight, a platform failing once, and customers typing faster than the bot answers. Nothing
may be lost, answered twice or answered out of order."""

from __future__ import annotations

import asyncio
import itertools

import aiohttp
import pytest

from tests.fakes.flaky_llm import FlakyOpenAIServer
from tests.fakes.openai_server import Reply
from tests.fakes.telegram import FakeTelegram, message_update, visible_text
from tests.fakes.wecom import CallbackSender, FakeWeCom, text_xml
from tests.system.clients import answer_kinds, delivered, rest_key, transcript
from tests.system.cluster import Cluster, Worker, wait_until
from tests.system.conftest import TELEGRAM_SECRET, llm_env, telegram_env, wecom_env

LLM_QUESTION = "退货运费谁出？"
"""A knowledge question: with an LLM configured (and no FAQ short-cut) the turn waits on the
model."""
FAQS = ["How long is the warranty?", "Can I pay with Alipay?", "发票可以开公司抬头吗？"]
CHATS = 20


async def test_worker_killed_mid_turn_answers_the_redelivered_message_exactly_once(
    cluster: Cluster, http: aiohttp.ClientSession, llm: FlakyOpenAIServer
) -> None:
    llm.enqueue(Reply("never finished [1]", delay_s=8.0))  # the first turn hangs in the model
    [a] = await cluster.start(1, llm_env(llm, timeout_s=30))
    in_flight = asyncio.create_task(
        a.say(http, "kate", LLM_QUESTION, message_id="kate-1", timeout_s=60)
    )
    await wait_until(lambda: len(llm.requests) == 1, 30, "the turn to reach the model")

    await a.kill()
    with pytest.raises(aiohttp.ClientError):
        await in_flight
    await a.restart()
    answered = await a.say(http, "kate", LLM_QUESTION, message_id="kate-1")  # the client retries
    again = await a.say(http, "kate", LLM_QUESTION, message_id="kate-1")  # and once more

    assert answered, "the redelivered message was not answered"
    assert again == answered  # a repeated message id returns the stored replies
    database_url = cluster.env["KEFU_STORAGE__DATABASE_URL"]
    kinds = [kind for kind, _ in await transcript(database_url, rest_key("kate"))]
    assert kinds == ["user_message", "bot_reply"]


async def test_sigterm_with_turns_in_flight_answers_them_all_and_exits_0(
    cluster: Cluster, http: aiohttp.ClientSession, llm: FlakyOpenAIServer
) -> None:
    llm.delay_s = 2.0
    [a] = await cluster.start(1, llm_env(llm))
    customers = [f"sig-{n}" for n in range(4)]
    in_flight = [
        asyncio.create_task(a.say(http, sender, LLM_QUESTION, message_id=f"{sender}-1"))
        for sender in customers
    ]
    await wait_until(lambda: len(llm.requests) >= 4, 30, "four turns waiting on the model")

    code = await a.terminate(timeout_s=40)
    results = await asyncio.gather(*in_flight, return_exceptions=True)

    assert [isinstance(r, list) and bool(r) for r in results] == [True] * 4, results
    assert code == 0


async def test_telegram_send_failing_once_is_delivered_once(
    cluster: Cluster, telegram: FakeTelegram
) -> None:
    telegram.send_failures = [(500, "Internal Server Error")]
    [a] = await cluster.start(1, telegram_env(telegram))
    update = message_update(
        telegram.next_update_id(), chat_id=501, user_id=501, text="How long is the warranty?"
    )
    status = await telegram.post_webhook(f"{a.url}/webhooks/telegram", update, TELEGRAM_SECRET)
    assert status == 200

    await wait_until(lambda: delivered(telegram, 501), 20, "the answer after one 500")
    await asyncio.sleep(1.0)  # room for a duplicate to show up
    [answer] = delivered(telegram, 501)
    assert "warranty" in visible_text(answer)


async def test_wecom_busy_once_is_delivered_once(cluster: Cluster, wecom: FakeWeCom) -> None:
    wecom.busy_answers = 1
    [a] = await cluster.start(1, wecom_env(wecom))
    sender = CallbackSender(f"{a.url}/webhooks/wecom")
    try:
        signed = sender.message(text_xml("zhangsan", "How long is the warranty?", msg_id=9001))
        status, _ = await sender.post(signed)
    finally:
        await sender.close()
    assert status == 200

    await wait_until(lambda: wecom.texts_to("zhangsan"), 20, "the answer after errcode -1")
    await asyncio.sleep(1.0)
    [answer] = wecom.texts_to("zhangsan")
    assert "warranty" in answer
    assert wecom.send_attempts >= 2


async def expected_answers(worker: Worker, http: aiohttp.ClientSession) -> list[str]:
    """What each FAQ question gets, asked alone by a new customer."""
    answers = []
    for n, question in enumerate(FAQS):
        replies = await worker.say(http, f"probe-{n}", question)
        assert answer_kinds(replies) == ["faq"], (question, replies)
        answers.append(str(replies[0]["text"]))
    return answers


def answer_order(delivered: list[str], answers: list[str]) -> list[int]:
    """Which FAQ each delivered text answers (-1: none)."""
    order = []
    for text in delivered:
        matches = [i for i, answer in enumerate(answers) if answer[:40] in text]
        order.append(matches[0] if matches else -1)
    return order


async def test_three_quick_messages_per_telegram_chat_are_answered_in_order(
    cluster: Cluster, http: aiohttp.ClientSession, telegram: FakeTelegram
) -> None:
    workers = await cluster.start(2, telegram_env(telegram))
    answers = await expected_answers(workers[0], http)
    update_ids = itertools.count(1)

    async def chat(n: int) -> None:
        chat_id = 7000 + n
        for i, question in enumerate(FAQS):  # each as soon as the previous was accepted
            update = message_update(
                next(update_ids), chat_id=chat_id, user_id=chat_id, text=question, message_id=i + 1
            )
            worker = workers[(n + i) % len(workers)]  # the load balancer alternates
            url = f"{worker.url}/webhooks/telegram"
            assert await telegram.post_webhook(url, update, TELEGRAM_SECRET) == 200

    await asyncio.gather(*(chat(n) for n in range(CHATS)))
    await wait_until(lambda: len(delivered(telegram)) >= CHATS * len(FAQS), 60, "every answer")
    await asyncio.sleep(1.0)

    orders = {
        n: answer_order([visible_text(t) for t in delivered(telegram, 7000 + n)], answers)
        for n in range(CHATS)
    }
    assert_in_order(orders)


async def test_three_quick_messages_per_wecom_user_are_answered_in_order(
    cluster: Cluster, http: aiohttp.ClientSession, wecom: FakeWeCom
) -> None:
    workers = await cluster.start(2, wecom_env(wecom))
    answers = await expected_answers(workers[0], http)
    senders = [CallbackSender(f"{w.url}/webhooks/wecom") for w in workers]
    msg_ids = itertools.count(50_000)

    async def user(n: int) -> None:
        for i, question in enumerate(FAQS):
            sender = senders[(n + i) % len(senders)]
            status, _ = await sender.post(
                sender.message(text_xml(f"u{n}", question, next(msg_ids)))
            )
            assert status == 200

    try:
        await asyncio.gather(*(user(n) for n in range(CHATS)))
    finally:
        for sender in senders:
            await sender.close()
    await wait_until(lambda: len(wecom.sent) >= CHATS * len(FAQS), 60, "every answer")
    await asyncio.sleep(1.0)

    orders = {n: answer_order(wecom.texts_to(f"u{n}"), answers) for n in range(CHATS)}
    assert_in_order(orders)


def assert_in_order(orders: dict[int, list[int]]) -> None:
    """Every chat got the three answers, once each, in the order it asked."""
    wrong = {n: order for n, order in orders.items() if order != [0, 1, 2]}
    assert not wrong, (
        f"{len(wrong)} of {len(orders)} chats answered out of order or not once: {wrong}"
    )
