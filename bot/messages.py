"""What the bot says when it is not quoting the knowledge base, in Chinese and English."""

from __future__ import annotations

from core.text import Language
from core.types import Button

_TEXTS: dict[str, dict[Language, str]] = {
    "empty": {
        "zh": "您好，请输入您想咨询的问题，我会尽力帮您解答。",
        "en": "Hi! Please type your question and I'll do my best to help.",
    },
    "too_long": {
        "zh": "您的消息太长了（超过 {limit} 个字符），请精简后再发给我。",
        "en": "Your message is too long (over {limit} characters). Please shorten it and "
        "send it again.",
    },
    "attachment": {
        "zh": "目前我只能处理文字消息，请用文字描述您的问题。",
        "en": "I can only read text for now. Please describe your question in words.",
    },
    "rate_limited": {
        "zh": "您发送得太快了，请稍等片刻再试。",
        "en": "You're sending messages a little too fast. Please wait a moment and try again.",
    },
    "dont_know": {
        "zh": "抱歉，我在知识库里没有找到这个问题的答案。需要为您转接人工客服吗？",
        "en": "Sorry, I couldn't find an answer to that in our knowledge base. "
        "Would you like me to connect you with a human agent?",
    },
    "error": {
        "zh": "抱歉，系统暂时出了点问题，请稍后再试。您的消息已记录，不会丢失。",
        "en": "Sorry, something went wrong on our side. Please try again in a moment; "
        "your message has been saved.",
    },
    "knowledge_unavailable": {
        "zh": "抱歉，知识库暂时无法访问，请稍后再试，或回复“转人工”联系人工客服。",
        "en": "Sorry, our knowledge base is unavailable right now. Please try again "
        'shortly, or reply "human" to reach an agent.',
    },
    "greeting": {
        "zh": "您好！我是星河电子的智能客服，可以帮您解答订单、物流、退换货、保修、"
        "支付和发票等问题。请问有什么可以帮您？",
        "en": "Hello! I'm the Xinghe Electronics support bot. I can help with orders, "
        "shipping, returns, warranty, payment and invoices. How can I help?",
    },
    "human_button": {"zh": "转人工客服", "en": "Talk to a human"},
    "sources": {"zh": "来源", "en": "Sources"},
    "admin_refused": {
        "zh": "抱歉，该命令仅限管理员使用。",
        "en": "Sorry, that command is for administrators only.",
    },
}


def say(name: str, language: Language, **values: object) -> str:
    """The canned text ``name`` in ``language``, with ``{placeholders}`` filled."""
    return _TEXTS[name][language].format(**values)


def human_button_payload(language: Language) -> str:
    return "转人工" if language == "zh" else "human"


def human_button(language: Language) -> Button:
    """The "talk to a human" quick reply; its payload triggers the handoff."""
    return Button(say("human_button", language), human_button_payload(language))
