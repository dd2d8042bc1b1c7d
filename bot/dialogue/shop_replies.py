"""What the bot says about orders and recommendations, in Chinese and English."""

from __future__ import annotations

from collections.abc import Sequence

from bot.dialogue.recommend import Recommendation
from core.shop import Order
from core.text import Language

_STATUS: dict[str, tuple[str, str]] = {
    "paid": ("已付款，等待发货", "paid and waiting to be shipped"),
    "shipped": ("已发货", "shipped"),
    "in_transit": ("运输中", "on its way"),
    "delivered": ("已送达", "delivered"),
    "cancelled": ("已取消", "cancelled"),
    "refunded": ("已退款", "refunded"),
}


def order_status_reply(order: Order | None, order_no: str, language: Language) -> str:
    """The answer to "where is my order" for one of the customer's orders.

    Args:
        order: the order, or None when it is not found on this customer's account.
        order_no: the number the customer gave (shown back when not found).
        language: the customer's language.
    """
    if order is None:
        if language == "zh":
            return f"没有在您的账户中找到订单 {order_no}，请核对订单号后再发给我。"
        return f"I couldn't find order {order_no} on your account. Please check the number."
    zh_status, en_status = _STATUS.get(order.status, (order.status, order.status))
    names = [item.name(language) for item in order.items]
    if language == "zh":
        text = f"订单 {order.order_no}（{'、'.join(names)}）状态：{zh_status}。"
        if order.carrier and order.tracking_no:
            text += f"承运商 {order.carrier}，运单号 {order.tracking_no}。"
        if order.eta and order.status in ("shipped", "in_transit"):
            text += f"预计 {order.eta.isoformat()} 送达。"
        elif order.eta and order.status == "delivered":
            text += f"已于 {order.eta.isoformat()} 送达。"
        return text
    text = f"Order {order.order_no} ({', '.join(names)}) is {en_status}."
    if order.carrier and order.tracking_no:
        text += f" Carrier: {order.carrier}, tracking number {order.tracking_no}."
    if order.eta and order.status in ("shipped", "in_transit"):
        text += f" Expected delivery: {order.eta.isoformat()}."
    elif order.eta and order.status == "delivered":
        text += f" Delivered on {order.eta.isoformat()}."
    return text


def lookup_failed_reply(language: Language) -> str:
    """What the customer reads when the order or product system cannot be reached."""
    if language == "zh":
        return "抱歉，暂时无法查询，请稍后再试。需要为您转接人工客服吗？"
    return (
        "Sorry, I can't look that up right now. Please try again in a moment, or talk to a human."
    )


def recommendations_reply(recommendations: Sequence[Recommendation], language: Language) -> str:
    """A numbered list of products, one line each with its reason."""
    if not recommendations:
        if language == "zh":
            return "抱歉，目前没有符合条件的商品。您可以放宽预算或换个类别试试。"
        return "Sorry, nothing in our catalogue fits that. Try a higher budget or another category."
    header = "为您推荐：" if language == "zh" else "Here is what I'd suggest:"
    lines = [
        f"{number}. {rec.product.name(language)} — {rec.reason(language)}"
        for number, rec in enumerate(recommendations, start=1)
    ]
    return "\n".join([header, *lines])
