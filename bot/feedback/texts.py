"""What the feedback room says to customers and admins, in Chinese and English."""

from __future__ import annotations

from core.text import Language

_TEXTS: dict[str, dict[Language, str]] = {
    "button_up": {"zh": "👍 有帮助", "en": "👍 Helpful"},
    "button_down": {"zh": "👎 没帮助", "en": "👎 Not helpful"},
    "thanks_up": {
        "zh": "感谢您的反馈，很高兴能帮到您！",
        "en": "Thanks for the feedback, glad it helped!",
    },
    "ask_reason": {
        "zh": "抱歉这个回答没能帮到您。可以告诉我哪里不对吗？直接回复即可（可选），"
        "也可以转人工客服。",
        "en": "Sorry that answer didn't help. What was wrong? Just reply (optional), "
        "or talk to a human agent.",
    },
    "thanks_reason": {
        "zh": "谢谢，您的意见已记录，我们会改进这个回答。",
        "en": "Thanks, we've noted that and will improve this answer.",
    },
    "nothing_to_rate": {
        "zh": "目前还没有可以评价的回答。",
        "en": "There's no answer to rate yet.",
    },
    "usage": {
        "zh": "用法：/feedback up | /feedback down [原因]\n"
        "管理员：/feedback review | /feedback approve <编号> | /feedback reject <编号> <原因>",
        "en": "Usage: /feedback up | /feedback down [reason]\n"
        "Admins: /feedback review | /feedback approve <id> | /feedback reject <id> <reason>",
    },
    "review_empty": {"zh": "没有待审核的候选答案。", "en": "No candidate answers to review."},
    "review_header": {
        "zh": "待审核的候选答案（{count}）：",
        "en": "Candidate answers to review ({count}):",
    },
    "review_footer": {
        "zh": "通过：/feedback approve <编号> [作为相似问加入的条目]；"
        "拒绝：/feedback reject <编号> <原因>",
        "en": "Approve: /feedback approve <id> [FAQ entry to add it to as another way to ask]; "
        "reject: /feedback reject <id> <reason>",
    },
    "review_personal_data": {
        "zh": "⚠ 可能含个人信息：{kinds}",
        "en": "⚠ may contain personal data: {kinds}",
    },
    "approved": {
        "zh": "候选答案 #{id} 已通过，已加入知识库（FAQ {faq_id}），立即生效。",
        "en": "Candidate #{id} approved and added to the knowledge base (FAQ {faq_id}); "
        "it is live now.",
    },
    "rejected": {
        "zh": "候选答案 #{id} 已拒绝并归档。",
        "en": "Candidate #{id} rejected and archived.",
    },
    "error_not_found": {"zh": "没有编号为 #{id} 的候选答案。", "en": "No candidate #{id}."},
    "error_already_reviewed": {
        "zh": "候选答案 #{id} 已经审核过了。",
        "en": "Candidate #{id} was already reviewed.",
    },
    "error_reason_required": {
        "zh": "拒绝时请写明原因：/feedback reject {id} <原因>",
        "en": "Please give a reason: /feedback reject {id} <reason>",
    },
    "error_empty": {
        "zh": "候选答案 #{id} 的问题或答案为空，无法通过。",
        "en": "Candidate #{id} has an empty question or answer.",
    },
    "error_faq_failed": {
        "zh": "知识库未能添加候选答案 #{id}，它仍待审核：{detail}",
        "en": "The knowledge base could not add candidate #{id}; it stays pending: {detail}",
    },
    "error_bad_id": {
        "zh": "请给出候选答案的编号，例如 /feedback approve 12",
        "en": "Please give the candidate's number, e.g. /feedback approve 12",
    },
}


def say(name: str, language: Language, **values: object) -> str:
    """The text ``name`` in ``language``, with ``{placeholders}`` filled."""
    return _TEXTS[name][language].format(**values)
