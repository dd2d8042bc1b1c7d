"""What the customer is told about the handoff, in Chinese and English."""

from __future__ import annotations

import math
from typing import Any

from core.config.handoff import BusinessHours
from core.events import AnswerKind
from core.text import Language
from core.types import Button, OutgoingMessage

_TEXTS: dict[str, dict[Language, str]] = {
    "queued": {
        "zh": "已为您转接人工客服。您目前排在第 {position} 位，预计等待约 {minutes} 分钟。"
        "等待期间您发送的消息都会转给客服。",
        "en": "I'm connecting you with a human agent. You are number {position} in the queue; "
        "the wait is about {minutes} min. Anything you write meanwhile goes to the agent.",
    },
    "left_message": {
        "zh": "{why}您的问题已作为留言转给人工客服，客服上线后会在这里回复您，聊天记录不会丢失。"
        "（服务时间：{hours}）",
        "en": "{why}Your question has been passed on as a message; an agent will reply here "
        "as soon as they are back. Nothing you wrote is lost. (Service hours: {hours})",
    },
    "closed_now": {"zh": "现在是非工作时间。", "en": "We're outside service hours right now. "},
    "nobody_online": {
        "zh": "目前暂无客服在线。",
        "en": "No agent is online at the moment. ",
    },
    "still_waiting": {
        "zh": "您的消息已转给人工客服，您目前排在第 {position} 位，请稍候。",
        "en": "Your message has been passed on. You are number {position} in the queue; "
        "thanks for waiting.",
    },
    "cancelled": {
        "zh": "好的，已取消人工客服。您可以继续向我提问。",
        "en": "OK, I've cancelled the request for an agent. You can keep asking me anything.",
    },
    "claimed": {
        "zh": "人工客服 {agent} 已接入，正在为您服务。",
        "en": "{agent} from our support team has joined and will help you now.",
    },
    "requeued": {
        "zh": "客服暂时离开了，您已回到排队中，我们会尽快为您安排其他客服。",
        "en": "The agent had to step away; you're back in the queue and the next free agent "
        "will take over.",
    },
    "rate": {
        "zh": "本次人工服务已结束，感谢您的耐心！请为本次服务打分：1（很不满意）到 5（非常满意）。",
        "en": "This chat with our agent has ended. Thank you for your patience! How satisfied "
        "were you? Please rate from 1 (very unsatisfied) to 5 (very satisfied).",
    },
    "thanks_for_rating": {
        "zh": "感谢您的评价！如果还有其他问题，随时问我。",
        "en": "Thanks for your rating! If there's anything else, just ask me.",
    },
    "cancel_button": {"zh": "取消转人工", "en": "Back to the bot"},
}

CANCEL_PAYLOAD: dict[Language, str] = {"zh": "取消转人工", "en": "cancel"}
RATING_BUTTONS = tuple(Button(str(score), str(score)) for score in range(1, 6))


def say(name: str, language: Language, **values: object) -> str:
    return _TEXTS[name][language].format(**values)


def wait_minutes(position: int, agents_online: int, average_minutes: float) -> int:
    """A rough wait: the conversations ahead, shared by the agents online, at least 1 min."""
    return max(1, math.ceil(position * average_minutes / max(agents_online, 1)))


def hours_text(hours: BusinessHours) -> str:
    if hours.always_open:
        return "24/7"
    return f"{hours.opens:%H:%M}-{hours.closes:%H:%M} ({hours.timezone})"


def handoff_message(
    text: str,
    language: Language,
    state: dict[str, Any],
    *,
    buttons: tuple[Button, ...] | None = None,
) -> OutgoingMessage:
    """A message about the handoff, marked so that the REST ``custom`` carries its state."""
    if buttons is None:
        buttons = (Button(say("cancel_button", language), CANCEL_PAYLOAD[language]),)
    return OutgoingMessage(
        text,
        buttons=buttons,
        custom={"answer_kind": AnswerKind.HANDOFF.value, "handoff": state},
    )
