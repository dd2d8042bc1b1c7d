"""The staff pages' texts in English and Chinese, and which language a request gets.

The language is decided once per request: ``?lang=zh|en`` (remembered in a cookie), then the
cookie, then the browser's ``Accept-Language``; English when nothing matches.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from aiohttp import web

StaffLanguage = Literal["en", "zh"]
LANGUAGES: tuple[StaffLanguage, ...] = ("zh", "en")
LANG_COOKIE = "kefu_staff_lang"

EN: dict[str, str] = {
    "lang.name": "English",
    "workspace.title": "Agent workspace",
    "workspace.log_out": "Log out",
    "workspace.offline": "offline",
    "workspace.online": "online",
    "workspace.reconnecting": "reconnecting…",
    "workspace.queue": "Queue",
    "workspace.mine": "My conversations",
    "workspace.pick": "Pick a conversation from the queue.",
    "workspace.claim": "Claim",
    "workspace.release": "Release to queue",
    "workspace.summary": "Summary",
    "workspace.reply_placeholder": (
        "Reply to the customer (Enter to send, Shift+Enter for a new line)"
    ),
    "workspace.send": "Send",
    "workspace.note": "Add internal note",
    "workspace.resolution": "Resolution (e.g. refund issued)",
    "workspace.close": "Close & ask for rating",
    "workspace.high": "high",
    "workspace.waiting_since": "waiting {since}",
    "workspace.minutes": "{m} min",
    "workspace.hours": "{h} h {m} min",
    "workspace.closed": "Closed. The customer was asked for a rating and is back with the bot.",
    "workspace.released": "Released to the queue.",
    "workspace.went_back": "The customer went back to the bot.",
    "workspace.log_in_again": "Please log in again.",
    "system.escalated": "Handed over to a human ({detail})",
    "system.claimed": "An agent took the conversation",
    "system.released": "Released to the queue",
    "system.closed": "Closed: {detail}",
    "system.cancelled": "The customer went back to the bot",
    "system.rating": "Rating: {score}/5",
    "role.customer": "Customer",
    "role.bot": "Bot",
    "role.agent": "Agent",
    "role.note": "Internal note",
    "reason.customer_request": "asked for a human",
    "reason.failed_answers": "bot could not answer",
    "reason.complaint": "complaint",
    "reason.frustration": "frustrated",
    "reason.admin": "sent by an admin",
    "summary.reason.customer_request": "The customer asked for a human agent.",
    "summary.reason.failed_answers": "The bot could not answer the customer's questions.",
    "summary.reason.complaint": "The customer has a complaint.",
    "summary.reason.frustration": "The customer seems frustrated.",
    "summary.reason.admin": "An admin handed this conversation over.",
    "summary.reason.other": "Handed over: {reason}.",
    "summary.intent": "They want: {intent}.",
    "summary.details": "They mentioned {details}.",
    "summary.list_separator": "; ",
    "summary.last_said": "Last words: “{text}”",
    "entity.order_numbers": "order number",
    "entity.phones": "phone",
    "entity.emails": "e-mail",
    "entity.dates": "date",
    "entity.products": "product",
    "entity.amounts": "amount",
    "intent.greeting": "greeting",
    "intent.goodbye": "saying goodbye",
    "intent.order_status": "where their order is",
    "intent.refund_request": "a refund",
    "intent.complaint": "to complain",
    "intent.human_agent": "a human agent",
    "intent.recommend_product": "a product recommendation",
    "intent.policy_question": "to know a policy",
    "intent.product_question": "to know about a product",
    "intent.small_talk": "small talk",
    "admin.review": "Review",
    "admin.dashboard": "Dashboard",
    "admin.api_docs": "API",
    "admin.logout": "Log out",
    "review.title": "Candidate answers",
    "review.heading": "Candidate answers ({n} pending)",
    "review.nothing": "Nothing to review.",
    "review.asked": "asked {when}",
    "review.question": "Question",
    "review.answer": "Answer",
    "review.approve": "Approve → FAQ",
    "review.alternative_of": "Or another way to ask this FAQ entry (its id or question)",
    "review.rephrasing": "A customer liked the answer from FAQ {faq_id} to this wording: "
    "approving adds the question to that entry as another way to ask it.",
    "review.reject": "Reject",
    "review.reason": "Reason for rejecting",
    "review.personal_data": "May contain personal data ({kinds}): edit it out before approving.",
    "review.context": "Earlier in the conversation",
    "review.role.user": "Customer",
    "review.role.assistant": "Bot",
    "dashboard.title": "Kefu dashboard",
    "dashboard.since": "Since {since}",
    "dashboard.last_event": "last event {when}",
    "dashboard.days_in": "times in {zone}",
    "dashboard.conversations": "conversations",
    "dashboard.resolved_by_bot": "resolved by the bot",
    "dashboard.handed_over": "handed to a human",
    "dashboard.median_wait": "median wait for an agent",
    "dashboard.csat": "CSAT ({n} ratings)",
    "dashboard.thumbs_up": "👍 share of rated answers",
    "dashboard.unanswered": "questions without an answer",
    "dashboard.per_day": "Conversations per day",
    "dashboard.per_channel": "Conversations per channel",
    "dashboard.who_resolved": "Who resolved the conversations",
    "dashboard.bot": "bot",
    "dashboard.human": "human agent",
    "dashboard.unresolved": "unresolved",
    "dashboard.waiting": "Waiting for an agent",
    "dashboard.no_claims": "No handoffs were claimed.",
    "dashboard.never_claimed": "{n} handoff(s) never claimed.",
    "dashboard.csat_title": "Customer satisfaction (1-5)",
    "dashboard.ratings": "Answer ratings",
    "dashboard.top_intents": "Top intents",
    "dashboard.gaps": "Top unanswered questions (knowledge base gaps)",
    "dashboard.no_gaps": "None. 🎉",
    "dashboard.asked": "Asked",
    "dashboard.example": "Example",
    "dashboard.also_asked": "Also asked as",
    "dashboard.median": "median",
    "dashboard.mean": "mean",
    "dashboard.p90": "p90",
    "dashboard.max": "max",
    "dashboard.models": "Language models compared",
    "models.model": "Model",
    "models.purpose": "Purpose",
    "models.calls": "Calls",
    "models.ok": "OK",
    "models.p50_ms": "p50 ms",
    "models.p90_ms": "p90 ms",
    "models.ttft_ms": "first token ms",
    "models.tokens": "tokens in / out",
    "docs.title": "Kefu HTTP API",
    "docs.json": "OpenAPI document",
    "docs.request": "Request body",
    "docs.parameters": "Parameters",
}

ZH: dict[str, str] = {
    "lang.name": "中文",
    "workspace.title": "客服工作台",
    "workspace.log_out": "退出登录",
    "workspace.offline": "离线",
    "workspace.online": "在线",
    "workspace.reconnecting": "正在重新连接…",
    "workspace.queue": "排队中",
    "workspace.mine": "我的会话",
    "workspace.pick": "从左侧队列中选择一个会话。",
    "workspace.claim": "接入",
    "workspace.release": "退回队列",
    "workspace.summary": "会话摘要",
    "workspace.reply_placeholder": "回复客户（Enter 发送，Shift+Enter 换行）",
    "workspace.send": "发送",
    "workspace.note": "添加内部备注",
    "workspace.resolution": "处理结果（例如：已退款）",
    "workspace.close": "结束会话并邀请评价",
    "workspace.high": "紧急",
    "workspace.waiting_since": "已等待 {since}",
    "workspace.minutes": "{m} 分钟",
    "workspace.hours": "{h} 小时 {m} 分钟",
    "workspace.closed": "会话已结束。已邀请客户评价，客户已回到机器人。",
    "workspace.released": "已退回队列。",
    "workspace.went_back": "客户已回到机器人。",
    "workspace.log_in_again": "请重新登录。",
    "system.escalated": "已转人工（{detail}）",
    "system.claimed": "客服已接入会话",
    "system.released": "已退回队列",
    "system.closed": "会话已结束：{detail}",
    "system.cancelled": "客户已回到机器人",
    "system.rating": "客户评分：{score}/5",
    "role.customer": "客户",
    "role.bot": "机器人",
    "role.agent": "客服",
    "role.note": "内部备注",
    "reason.customer_request": "要求转人工",
    "reason.failed_answers": "机器人无法回答",
    "reason.complaint": "投诉",
    "reason.frustration": "情绪不满",
    "reason.admin": "管理员转接",
    "summary.reason.customer_request": "客户要求人工客服。",
    "summary.reason.failed_answers": "机器人多次未能回答客户的问题。",
    "summary.reason.complaint": "客户有投诉。",
    "summary.reason.frustration": "客户情绪不满。",
    "summary.reason.admin": "管理员将此会话转给人工。",
    "summary.reason.other": "转人工原因：{reason}。",
    "summary.intent": "客户想要：{intent}。",
    "summary.details": "客户提到了{details}。",
    "summary.list_separator": "；",
    "summary.last_said": "客户最后说：“{text}”",
    "entity.order_numbers": "订单号",
    "entity.phones": "电话",
    "entity.emails": "邮箱",
    "entity.dates": "日期",
    "entity.products": "商品",
    "entity.amounts": "金额",
    "intent.greeting": "打招呼",
    "intent.goodbye": "告别",
    "intent.order_status": "查询订单状态",
    "intent.refund_request": "申请退款",
    "intent.complaint": "投诉",
    "intent.human_agent": "人工客服",
    "intent.recommend_product": "商品推荐",
    "intent.policy_question": "了解政策",
    "intent.product_question": "了解商品",
    "intent.small_talk": "闲聊",
    "admin.review": "答案审核",
    "admin.dashboard": "数据看板",
    "admin.api_docs": "接口文档",
    "admin.logout": "退出登录",
    "review.title": "待审核答案",
    "review.heading": "待审核答案（{n} 条）",
    "review.nothing": "没有需要审核的内容。",
    "review.asked": "提问于 {when}",
    "review.question": "问题",
    "review.answer": "答案",
    "review.approve": "通过 → 加入常见问题",
    "review.alternative_of": "或作为已有条目的相似问（填条目编号或问题）",
    "review.rephrasing": "顾客对来自 FAQ {faq_id} 的回答点了赞："
    "通过后，这个问法会作为相似问加入该条目。",
    "review.reject": "拒绝",
    "review.reason": "拒绝原因",
    "review.personal_data": "可能包含个人信息（{kinds}）：通过前请先删除。",
    "review.context": "之前的对话",
    "review.role.user": "客户",
    "review.role.assistant": "机器人",
    "dashboard.title": "客服数据看板",
    "dashboard.since": "自 {since} 起",
    "dashboard.last_event": "最近事件 {when}",
    "dashboard.days_in": "时区 {zone}",
    "dashboard.conversations": "会话数",
    "dashboard.resolved_by_bot": "机器人解决率",
    "dashboard.handed_over": "转人工比例",
    "dashboard.median_wait": "等待人工的中位时间",
    "dashboard.csat": "满意度（{n} 条评价）",
    "dashboard.thumbs_up": "👍 好评占比",
    "dashboard.unanswered": "未能回答的问题",
    "dashboard.per_day": "每日会话数",
    "dashboard.per_channel": "各渠道会话数",
    "dashboard.who_resolved": "会话由谁解决",
    "dashboard.bot": "机器人",
    "dashboard.human": "人工客服",
    "dashboard.unresolved": "未解决",
    "dashboard.waiting": "等待人工",
    "dashboard.no_claims": "没有被接入的转人工会话。",
    "dashboard.never_claimed": "{n} 个转人工会话从未被接入。",
    "dashboard.csat_title": "客户满意度（1-5）",
    "dashboard.ratings": "答案评价",
    "dashboard.top_intents": "最常见的意图",
    "dashboard.gaps": "最常见的未回答问题（知识库缺口）",
    "dashboard.no_gaps": "没有。🎉",
    "dashboard.asked": "次数",
    "dashboard.example": "示例",
    "dashboard.also_asked": "其他问法",
    "dashboard.median": "中位数",
    "dashboard.mean": "平均",
    "dashboard.p90": "90 分位",
    "dashboard.max": "最长",
    "dashboard.models": "语言模型对比",
    "models.model": "模型",
    "models.purpose": "用途",
    "models.calls": "调用次数",
    "models.ok": "成功率",
    "models.p50_ms": "中位耗时 ms",
    "models.p90_ms": "p90 耗时 ms",
    "models.ttft_ms": "首字耗时 ms",
    "models.tokens": "输入 / 输出 token",
    "docs.title": "Kefu HTTP 接口",
    "docs.json": "OpenAPI 文档",
    "docs.request": "请求体",
    "docs.parameters": "参数",
}

CATALOG: dict[StaffLanguage, dict[str, str]] = {"en": EN, "zh": ZH}


def text(language: StaffLanguage, key: str, **values: object) -> str:
    """The text for ``key`` in ``language`` (English when missing), with ``{name}`` filled."""
    template = CATALOG[language].get(key) or EN.get(key, key)
    return template.format(**values) if values else template


def catalog(language: StaffLanguage, prefixes: tuple[str, ...]) -> dict[str, str]:
    """The texts whose keys start with one of ``prefixes`` (for the workspace's script)."""
    merged = {**EN, **CATALOG[language]}
    return {k: v for k, v in merged.items() if k.startswith(prefixes)}


def from_accept_language(header: str) -> StaffLanguage | None:
    """The first of zh/en in ``Accept-Language``, by weight (``zh-CN,zh;q=0.9,en;q=0.8``)."""
    weighted: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        weighted.append((-weight, position, tag.strip().lower()))
    for weight, _, tag in sorted(weighted):
        primary = tag.split("-")[0]
        if weight < 0 and primary in LANGUAGES:
            return primary  # type: ignore[return-value]
    return None


def choose_language(request: web.Request) -> StaffLanguage:
    """The staff member's language for this request (see the module docstring)."""
    for candidate in (request.query.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in LANGUAGES:
            return candidate  # type: ignore[return-value]
    return from_accept_language(request.headers.get("Accept-Language", "")) or "en"


def remember_language(request: web.Request, response: web.StreamResponse) -> None:
    """Keeps a ``?lang=`` switch for the next pages."""
    chosen = request.query.get("lang")
    if chosen in LANGUAGES:
        response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 86400, samesite="Lax", path="/")


def labels(language: StaffLanguage) -> Mapping[str, str]:
    return {**EN, **CATALOG[language]}
