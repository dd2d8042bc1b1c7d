"""The Telegram adapter with python-telegram-bot against the fake Bot API server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import pytest

from core.errors import AdapterError
from core.types import ConversationKey, OutgoingMessage
from tests.bot.adapters.telegram.conftest import SECRET, Running
from tests.fakes.pipeline import LONG_WORDS, TEXT_ONLY, ScriptedPipeline
from tests.fakes.telegram import (
    BOT_USERNAME,
    FakeTelegram,
    callback_update,
    message_update,
    visible_text,
)

Start = Callable[..., AbstractAsyncContextManager[Running]]


async def test_customer_question_is_answered_with_sources_and_buttons(
    fake: FakeTelegram, running: Start, pipeline: ScriptedPipeline
) -> None:
    async with running() as (_, url):
        update = message_update(
            fake.next_update_id(), chat_id=42, user_id=42, text="Shipping time?"
        )
        assert await fake.post_webhook(url, update, SECRET) == 200
        [sent] = await fake.wait_for("sendMessage")

    assert sent["chat_id"] == "42"
    assert sent["parse_mode"] == "HTML"
    assert sent["text"] == "Answer to: Shipping time?\n\n<i>Sources: Shipping FAQ</i>"
    buttons = [row[0] for row in sent["reply_markup"]["inline_keyboard"]]
    assert [b["text"] for b in buttons] == ["Talk to a human", "More about shipping"]
    assert buttons[0]["callback_data"] == "/human"
    assert len(buttons[1]["callback_data"].encode()) <= 64
    [incoming] = pipeline.received
    assert incoming.key == ConversationKey("telegram", "42", "42")
    assert incoming.sender_name == "Ann"


async def test_polling_mode_answers_too(fake: FakeTelegram, running: Start) -> None:
    async with running(mode="polling", webhook_secret=None):
        await fake.queue_update(
            message_update(fake.next_update_id(), chat_id=7, user_id=7, text="Hello")
        )
        [sent] = await fake.wait_for("sendMessage")
    assert sent["text"].startswith("Answer to: Hello")
    assert fake.calls_to("deleteWebhook"), "polling must clear a webhook first"


async def test_webhook_mode_registers_the_webhook_with_its_secret(
    fake: FakeTelegram, running: Start
) -> None:
    async with running(webhook_url="https://kefu.example.com/webhooks/telegram"):
        pass
    assert fake.webhook["url"] == "https://kefu.example.com/webhooks/telegram"
    assert fake.webhook["secret_token"] == SECRET


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", SECRET + "x"])
async def test_forged_webhook_is_refused(
    fake: FakeTelegram, running: Start, pipeline: ScriptedPipeline, secret: str | None
) -> None:
    async with running() as (_, url):
        update = message_update(fake.next_update_id(), chat_id=42, user_id=42, text="Give me admin")
        assert await fake.post_webhook(url, update, secret) == 403
        await asyncio.sleep(0.1)
    assert pipeline.received == []
    assert fake.calls_to("sendMessage") == []


async def test_malformed_webhook_body_is_a_400_not_a_crash(
    fake: FakeTelegram, running: Start
) -> None:
    async with running() as (_, url):
        assert await fake.post_webhook(url, {"no": "update"}, SECRET) == 400
        assert await fake.post_webhook(url, [1, 2], SECRET) == 400  # type: ignore[arg-type]
        update = message_update(fake.next_update_id(), chat_id=42, user_id=42, text="still alive?")
        assert await fake.post_webhook(url, update, SECRET) == 200
        await fake.wait_for("sendMessage")


async def test_updates_acknowledged_before_stop_are_still_answered(
    fake: FakeTelegram, running: Start
) -> None:
    async with running() as (_, url):
        for chat in (1, 2, 3):
            update = message_update(chat, chat_id=chat, user_id=chat, text=f"slow {chat}")
            assert await fake.post_webhook(url, update, SECRET) == 200
    assert sorted(int(p["chat_id"]) for p in fake.calls_to("sendMessage")) == [1, 2, 3]


async def test_webhook_calls_after_stop_are_refused_for_redelivery(
    fake: FakeTelegram, running: Start, pipeline: ScriptedPipeline
) -> None:
    async with running() as (adapter, url):
        await adapter.stop()
        update = message_update(1, chat_id=42, user_id=42, text="anyone there?")
        assert await fake.post_webhook(url, update, SECRET) == 503
    assert pipeline.received == []


async def test_redelivered_update_is_answered_once(
    fake: FakeTelegram, running: Start, pipeline: ScriptedPipeline
) -> None:
    async with running() as (_, url):
        update = message_update(fake.next_update_id(), chat_id=42, user_id=42, text="Refund?")
        statuses = await asyncio.gather(*(fake.post_webhook(url, update, SECRET) for _ in range(3)))
        assert statuses == [200, 200, 200]
        second = message_update(
            fake.next_update_id(), chat_id=42, user_id=42, text="Thanks", message_id=2
        )
        await fake.post_webhook(url, second, SECRET)
        await fake.wait_for("sendMessage", 2)
        await asyncio.sleep(0.1)
    assert pipeline.texts == ["Refund?", "Thanks"]
    assert len(fake.calls_to("sendMessage")) == 2


async def test_long_reply_is_split_at_4096_without_breaking_words_or_markup(
    fake: FakeTelegram, running: Start
) -> None:
    async with running() as (_, url):
        update = message_update(fake.next_update_id(), chat_id=42, user_id=42, text="long")
        await fake.post_webhook(url, update, SECRET)
        await fake.wait_for("sendMessage", 5)
        await asyncio.sleep(0.1)
    sent = fake.calls_to("sendMessage")
    # The fake refuses >4096 characters and broken entities like Telegram does.
    assert fake.refused() == []
    assert all(params["parse_mode"] == "HTML" for params in sent)
    shown = [visible_text(params["text"]) for params in sent]
    assert all(len(text) <= 4096 for text in shown)
    assert " ".join(shown).split() == LONG_WORDS.split()


async def test_markup_characters_in_answers_are_escaped(fake: FakeTelegram, running: Start) -> None:
    async with running() as (_, url):
        text = "Is 1 < 2 & <b>bold</b>?"
        update = message_update(fake.next_update_id(), chat_id=42, user_id=42, text=text)
        await fake.post_webhook(url, update, SECRET)
        [sent] = await fake.wait_for("sendMessage")
    assert fake.refused() == []
    assert visible_text(sent["text"]).startswith(f"Answer to: {text}")


async def test_answer_is_resent_as_plain_text_when_telegram_refuses_the_markup(
    fake: FakeTelegram, running: Start
) -> None:
    fake.refuse_markup = True
    async with running() as (_, url):
        update = message_update(1, chat_id=42, user_id=42, text="a < b?")
        await fake.post_webhook(url, update, SECRET)
        refused, resent = await fake.wait_for("sendMessage", 2)
    assert refused["parse_mode"] == "HTML"
    assert "parse_mode" not in resent
    assert resent["text"] == "Answer to: a < b?\n\nSources: Shipping FAQ"


async def test_button_press_is_acknowledged_and_answered_as_the_customers_text(
    fake: FakeTelegram, running: Start, pipeline: ScriptedPipeline
) -> None:
    async with running() as (_, url):
        question = message_update(fake.next_update_id(), chat_id=42, user_id=42, text="Shipping?")
        await fake.post_webhook(url, question, SECRET)
        [first] = await fake.wait_for("sendMessage")
        long_data = first["reply_markup"]["inline_keyboard"][1][0]["callback_data"]
        for data in ("/human", long_data):
            press = callback_update(fake.next_update_id(), chat_id=42, user_id=42, data=data)
            await fake.post_webhook(url, press, SECRET)
        await fake.wait_for("sendMessage", 3)
    assert pipeline.texts == ["Shipping?", "/human", pipeline.long_payload]
    assert len(fake.calls_to("answerCallbackQuery")) == 2
    assert fake.calls_to("editMessageReplyMarkup"), "pressed buttons are removed"


async def test_expired_button_is_reported_not_guessed(
    fake: FakeTelegram, running: Start, pipeline: ScriptedPipeline
) -> None:
    async with running() as (_, url):
        press = callback_update(fake.next_update_id(), chat_id=42, user_id=42, data="#" + "0" * 32)
        await fake.post_webhook(url, press, SECRET)
        [answer] = await fake.wait_for("answerCallbackQuery")
    assert "expired" in answer["text"]
    assert pipeline.received == []


async def test_group_messages_are_answered_only_when_addressed(
    fake: FakeTelegram, running: Start, pipeline: ScriptedPipeline
) -> None:
    group = -100200
    mention = f"@{BOT_USERNAME} where is my parcel?"
    async with running() as (_, url):
        chatter = message_update(1, chat_id=group, user_id=5, text="lunch?", chat_type="supergroup")
        to_bot = message_update(
            2,
            chat_id=group,
            user_id=5,
            text=mention,
            chat_type="supergroup",
            message_id=11,
            entities=[{"type": "mention", "offset": 0, "length": len(BOT_USERNAME) + 1}],
        )
        reply = message_update(
            3,
            chat_id=group,
            user_id=6,
            text="and mine?",
            chat_type="supergroup",
            message_id=13,
            reply_to_bot=True,
        )
        for update in (chatter, to_bot, reply):
            await fake.post_webhook(url, update, SECRET)
        sent = await fake.wait_for("sendMessage", 2)
        await asyncio.sleep(0.1)
    assert pipeline.texts == ["where is my parcel?", "and mine?"]
    assert [s["reply_parameters"]["message_id"] for s in sent] == [11, 13]
    assert pipeline.received[0].key == ConversationKey("telegram", str(group), "5")


async def test_admin_command_reaches_the_pipeline_without_the_bot_suffix(
    fake: FakeTelegram, running: Start, pipeline: ScriptedPipeline
) -> None:
    text = f"/kb@{BOT_USERNAME} reload"
    async with running() as (_, url):
        update = message_update(
            1,
            chat_id=-5,
            user_id=9,
            text=text,
            chat_type="group",
            entities=[{"type": "bot_command", "offset": 0, "length": len(text) - 7}],
        )
        await fake.post_webhook(url, update, SECRET)
        await fake.wait_for("sendMessage")
    assert pipeline.texts == ["/kb reload"]


async def test_photo_without_text_gets_the_text_only_answer(
    fake: FakeTelegram, running: Start, pipeline: ScriptedPipeline
) -> None:
    async with running() as (_, url):
        update = message_update(1, chat_id=42, user_id=42, photo=True)
        await fake.post_webhook(url, update, SECRET)
        [sent] = await fake.wait_for("sendMessage")
    assert pipeline.received[0].parts == ("photo",)
    assert pipeline.received[0].text == ""
    assert visible_text(sent["text"]) == TEXT_ONLY


async def test_pipeline_failure_still_gets_a_polite_answer(
    fake: FakeTelegram, running: Start
) -> None:
    async with running() as (_, url):
        await fake.post_webhook(url, message_update(1, chat_id=42, user_id=42, text="boom"), SECRET)
        [sent] = await fake.wait_for("sendMessage")
    assert "Sorry" in sent["text"]
    assert "Traceback" not in sent["text"]


async def test_one_chats_messages_are_answered_in_order(fake: FakeTelegram, running: Start) -> None:
    async with running() as (_, url):
        first = message_update(1, chat_id=42, user_id=42, text="slow first", message_id=1)
        second = message_update(2, chat_id=42, user_id=42, text="second", message_id=2)
        await fake.post_webhook(url, first, SECRET)
        await fake.post_webhook(url, second, SECRET)
        await fake.wait_for("sendMessage", 2)
    assert [visible_text(t).split("\n")[0] for t in fake.sent_texts(42)] == [
        "Answer to: slow first",
        "Answer to: second",
    ]


async def test_agent_reply_is_delivered_later_by_conversation_key(
    fake: FakeTelegram, running: Start
) -> None:
    async with running() as (adapter, _):
        key = ConversationKey("telegram", "-100300", "77", thread_id="5")
        await adapter.send(key, OutgoingMessage(text="Hi, this is Mei from support."))
    [sent] = fake.calls_to("sendMessage")
    assert (sent["chat_id"], sent["message_thread_id"]) == ("-100300", "5")
    assert sent["text"] == "Hi, this is Mei from support."


async def test_send_to_a_chat_that_blocked_the_bot_raises_adapter_error(
    fake: FakeTelegram, running: Start
) -> None:
    fake.blocked_chats.add(99)
    async with running() as (adapter, _):
        with pytest.raises(AdapterError, match="cannot write"):
            await adapter.send(ConversationKey("telegram", "99", "99"), OutgoingMessage(text="hi"))


@pytest.mark.parametrize(
    "failure",
    [(500, "Internal Server Error"), (502, "Bad Gateway"), (429, "Too Many Requests: retry")],
)
async def test_an_answer_the_bot_api_fails_to_take_is_sent_again_once(
    fake: FakeTelegram, running: Start, failure: tuple[int, str]
) -> None:
    fake.send_failures.append(failure)
    async with running() as (_, url):
        question = message_update(1, chat_id=42, user_id=42, text="Do you ship to Canada?")
        assert await fake.post_webhook(url, question, SECRET) == 200
        await fake.wait_for("sendMessage", 2, timeout=5)
        await asyncio.sleep(0.6)  # and not a third time
    sends = [c for c in fake.calls if c.method == "sendMessage"]
    assert [c.status for c in sends] == [failure[0], 200]  # refused once, then taken once
    delivered = [visible_text(c.params["text"]).split("\n")[0] for c in sends[1:]]
    assert delivered == ["Answer to: Do you ship to Canada?"]


async def test_three_quick_messages_in_many_chats_are_answered_in_order(
    fake: FakeTelegram, running: Start
) -> None:
    chats = range(100, 120)
    async with running() as (_, url):

        async def customer(chat: int) -> list[int]:
            # One chat's updates come one after another, as Telegram sends them; the chats
            # all at once. The first answer is slow, so a naive bot would overtake it.
            statuses = []
            for n, text in enumerate(("slow one", "two", "three"), start=1):
                update = message_update(
                    chat * 10 + n, chat_id=chat, user_id=chat, text=text, message_id=n
                )
                statuses.append(await fake.post_webhook(url, update, SECRET))
            return statuses

        results = await asyncio.gather(*(customer(chat) for chat in chats))
        assert {status for statuses in results for status in statuses} == {200}
        await fake.wait_for("sendMessage", 3 * len(chats), timeout=20)
    for chat in chats:
        firsts = [visible_text(t).split("\n")[0] for t in fake.sent_texts(chat)]
        assert firsts == ["Answer to: slow one", "Answer to: two", "Answer to: three"], chat
