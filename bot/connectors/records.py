"""Turning a company's order and product records (SQL rows, JSON objects) into ours.

Both connectors read a record into a flat ``{our field: value}`` mapping (SQL by column name,
HTTP through the dotted paths in settings) and build :class:`~core.shop.Order` and
:class:`~core.shop.Product` here, so both accept the same shapes: ISO dates, money as
numbers or strings, lists as JSON arrays or ``;``-separated text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import structlog

from core.errors import ConnectorError
from core.shop import Order, OrderItem, Product

log = structlog.get_logger(__name__)

ORDER_FIELDS = (
    "order_no",
    "customer_id",
    "status",
    "created_at",
    "items",
    "total",
    "carrier",
    "tracking_no",
    "eta",
)
ITEM_FIELDS = ("sku", "name", "name_en", "name_zh")
PRODUCT_FIELDS = ("sku", "name_en", "name_zh", "name", "category", "price", "tags", "description")
CENT = Decimal("0.01")


def dotted(record: Any, path: str) -> Any:
    """The value at ``path`` ("data.order", "items.0.sku") in nested JSON; None if absent."""
    value = record
    for part in path.split(".") if path else ():
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def pick(record: Any, names: tuple[str, ...], paths: Mapping[str, str]) -> dict[str, Any]:
    """Our fields ``names`` read from ``record``, each at ``paths[name]`` or under its name."""
    return {name: dotted(record, paths.get(name, name)) for name in names}


def order_from(
    values: Mapping[str, Any], customer_id: str, item_paths: Mapping[str, str] | None = None
) -> Order:
    """An order from its fields; ``customer_id`` when the record does not name its customer.

    Raises:
        ConnectorError: a required field (order_no, status, created_at, total) is missing or
            cannot be read.
    """
    try:
        return Order(
            order_no=_text(_required(values, "order_no")),
            customer_id=_text(values.get("customer_id") or customer_id),
            status=_text(_required(values, "status")),
            created_at=_datetime(_required(values, "created_at")),
            items=_items(values.get("items"), item_paths or {}),
            total=_money(_required(values, "total")),
            carrier=_optional_text(values.get("carrier")),
            tracking_no=_optional_text(values.get("tracking_no")),
            eta=_date(values.get("eta")),
        )
    except (ValueError, TypeError, InvalidOperation) as e:
        raise ConnectorError(f"an order record could not be read: {e}") from e


def own_orders(orders: list[Order], customer_id: str) -> list[Order]:
    """``orders`` without any that names another customer.

    The query or API is asked for one customer's orders; this guards against a mistake in it
    ever showing a customer someone else's order.
    """
    mine = [order for order in orders if order.customer_id == customer_id]
    if len(mine) < len(orders):
        log.warning("shop.orders.other_customer_dropped", dropped=len(orders) - len(mine))
    return mine


def product_from(values: Mapping[str, Any]) -> Product:
    """A product from its fields (``name`` stands for both names when they are not given).

    Raises:
        ConnectorError: sku, a name, category or price is missing or cannot be read.
    """
    try:
        name = _optional_text(values.get("name"))
        return Product(
            sku=_text(_required(values, "sku")),
            name_en=_text(values.get("name_en") or name or _required(values, "name_en")),
            name_zh=_text(values.get("name_zh") or name or _required(values, "name_zh")),
            category=_text(_required(values, "category")),
            price=_money(_required(values, "price")),
            tags=tuple(_list(values.get("tags"))),
            description=_optional_text(values.get("description")) or "",
        )
    except (ValueError, TypeError, InvalidOperation) as e:
        raise ConnectorError(f"a product record could not be read: {e}") from e


def _required(values: Mapping[str, Any], name: str) -> Any:
    value = values.get(name)
    if value is None or value == "":
        raise ValueError(f"no {name!r}")
    return value


def _text(value: Any) -> str:
    return str(value).strip()


def _optional_text(value: Any) -> str | None:
    return None if value is None or str(value).strip() == "" else str(value).strip()


def _money(value: Any) -> Decimal:
    # str() first: a float 899.9 becomes Decimal("899.9"), not its binary expansion.
    return Decimal(str(value)).quantize(CENT)


def _datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return datetime.fromisoformat(str(value).strip())


def _date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    return datetime.fromisoformat(text).date() if "T" in text else date.fromisoformat(text)


def _list(value: Any) -> list[Any]:
    """A JSON array, a JSON array in a string (a SQL text column), or ``a;b`` text."""
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple):
        return list(value)
    text = str(value).strip()
    if text.startswith("["):
        parsed = json.loads(text)
        if isinstance(parsed, list):
            return parsed
    return [part.strip() for part in text.split(";") if part.strip()]


def _items(value: Any, paths: Mapping[str, str]) -> tuple[OrderItem, ...]:
    items = []
    for entry in _list(value):
        if isinstance(entry, Mapping):
            fields = pick(entry, ITEM_FIELDS, paths)
            sku = _optional_text(fields["sku"]) or _text(_required(fields, "name"))
            name = _optional_text(fields["name"]) or sku
            en = _optional_text(fields["name_en"]) or name
            zh = _optional_text(fields["name_zh"]) or name
            items.append(OrderItem(sku, en, zh))
        else:
            items.append(OrderItem(_text(entry), _text(entry), _text(entry)))
    return tuple(items)
