"""What the bot says about orders and recommendations (texts ``shop.*`` in the catalog)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.dialogue.recommend import Recommendation
from bot.texts import current_catalog, say
from core.shop import Order
from core.text import Language


def order_status_reply(order: Order | None, order_no: str, language: Language) -> str:
    """The answer to "where is my order" for one of the customer's orders.

    Args:
        order: the order, or None when it is not found on this customer's account.
        order_no: the number the customer gave (shown back when not found).
        language: the customer's language.
    """
    if order is None:
        return say("shop.order.not_found", language, order_no=order_no)
    status_key = f"shop.order.status.{order.status}"
    status = say(status_key, language) if current_catalog().has(status_key) else order.status
    separator = say("shop.order.item_separator", language)
    items = separator.join(item.name(language) for item in order.items)
    text = say("shop.order.summary", language, order_no=order.order_no, items=items, status=status)
    if order.carrier and order.tracking_no:
        text += say(
            "shop.order.carrier", language, carrier=order.carrier, tracking_no=order.tracking_no
        )
    if order.eta and order.status in ("shipped", "in_transit"):
        text += say("shop.order.expected", language, date=order.eta.isoformat())
    elif order.eta and order.status == "delivered":
        text += say("shop.order.delivered_on", language, date=order.eta.isoformat())
    return text


def lookup_failed_reply(language: Language) -> str:
    """What the customer reads when the order or product system cannot be reached."""
    return say("shop.lookup_failed", language)


def recommendations_reply(recommendations: Sequence[Recommendation], language: Language) -> str:
    """A numbered list of products, one line each with its reason."""
    if not recommendations:
        return say("shop.recommend.none", language)
    lines = [
        say(
            "shop.recommend.line",
            language,
            number=number,
            product=rec.product.name(language),
            reason=rec.reason(language),
        )
        for number, rec in enumerate(recommendations, start=1)
    ]
    return "\n".join([say("shop.recommend.header", language), *lines])
