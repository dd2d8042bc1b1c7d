"""Pure conversions on recorded Telegram updates and rendering of outgoing messages."""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot.adapters.telegram.convert import BotIdentity, message_to_incoming
from bot.adapters.telegram.markup import CallbackPayloads, render
from core.types import Button, Citation, ConversationKey, OutgoingMessage

BOT = BotIdentity(id=7000001, username="kefu_test_bot")

# Recorded from a forum supergroup (ids changed): a member mentions the bot by name link.
TOPIC_TEXT_MENTION: dict[str, Any] = {
    "update_id": 873421907,
    "message": {
        "message_id": 2231,
        "message_thread_id": 2210,
        "is_topic_message": True,
        "from": {
            "id": 58111,
            "is_bot": False,
            "first_name": "李",
            "last_name": "雷",
            "language_code": "zh-hans",
        },
        "chat": {"id": -1001822334455, "title": "客服群", "is_forum": True, "type": "supergroup"},
        "date": 1764151200,
        "text": "Kefu 我的订单什么时候发货？",
        "entities": [
            {
                "offset": 0,
                "length": 4,
                "type": "text_mention",
                "user": {
                    "id": 7000001,
                    "is_bot": True,
                    "first_name": "Kefu",
                    "username": "kefu_test_bot",
                },
            }
        ],
    },
}

EDITED: dict[str, Any] = {
    "update_id": 873421908,
    "edited_message": {
        "message_id": 12,
        "from": {"id": 5, "is_bot": False, "first_name": "A"},
        "chat": {"id": 5, "type": "private", "first_name": "A"},
        "date": 1764151200,
        "edit_date": 1764151260,
        "text": "edited",
    },
}


def _update(data: dict[str, Any]) -> Update:
    update = Update.de_json(data, None)
    assert update is not None
    return update


def test_text_mention_in_a_forum_topic_keeps_the_topic_in_the_key() -> None:
    incoming = message_to_incoming(_update(TOPIC_TEXT_MENTION), BOT)
    assert incoming is not None
    assert incoming.key == ConversationKey("telegram", "-1001822334455", "58111", "2210")
    assert incoming.message_id == "-1001822334455:2231"
    assert incoming.sender_name == "李 雷"
    assert incoming.raw["update_id"] == 873421907


def test_edits_and_other_bots_are_not_answered() -> None:
    assert message_to_incoming(_update(EDITED), BOT) is None
    from_bot = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "from": {"id": 9, "is_bot": True, "first_name": "Other"},
            "chat": {"id": 9, "type": "private"},
            "date": 1,
            "text": "hi",
        },
    }
    assert message_to_incoming(_update(from_bot), BOT) is None


def test_command_for_another_bot_in_a_group_is_ignored() -> None:
    text = "/kb@other_bot reload"
    update = {
        "update_id": 2,
        "message": {
            "message_id": 3,
            "from": {"id": 5, "is_bot": False, "first_name": "A"},
            "chat": {"id": -7, "type": "group", "title": "g"},
            "date": 1,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text) - 7}],
        },
    }
    assert message_to_incoming(_update(update), BOT) is None


def test_chinese_answer_gets_a_chinese_sources_line() -> None:
    message = OutgoingMessage(
        text="订单付款后 48 小时内发货。",
        citations=(Citation("faq.md", "发货说明"), Citation("faq.md", "发货说明")),
    )
    [part] = render(message, CallbackPayloads())
    assert part.html == "订单付款后 48 小时内发货。\n\n<i>来源：发货说明</i>"


def test_split_counts_emoji_as_two_like_telegram() -> None:
    text = "😀 " * 3000  # 9000 UTF-16 code units
    parts = render(OutgoingMessage(text=text), CallbackPayloads())
    assert all(len(p.plain.encode("utf-16-le")) // 2 <= 4096 for p in parts)
    assert "".join(p.plain for p in parts).count("😀") == 3000


def test_buttons_go_on_the_last_part_only() -> None:
    message = OutgoingMessage(text="word " * 2000, buttons=(Button("Yes", "yes"),))
    parts = render(message, CallbackPayloads())
    assert [bool(p.buttons) for p in parts] == [False, False, True]


def test_long_and_hash_payloads_round_trip_through_callback_data() -> None:
    payloads = CallbackPayloads()
    for payload in ("/human", "#tag", "我想了解国际运费和关税的具体计算方式以及时效"):
        data = payloads.encode(payload)
        assert len(data.encode()) <= 64
        assert payloads.decode(data) == payload
