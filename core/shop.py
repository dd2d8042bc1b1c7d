"""The shop as the bot sees it: orders and products, and the two interfaces that reach them.

Kefu does not own a company's order or product data. It reads them through an
:class:`OrderBook` and a :class:`Catalogue`; the composition root picks the implementation
from settings (the bundled demo tables, a read-only SQL query, or an HTTP API: see
``bot/demo/shop.py`` and ``bot/connectors/``). Dialogue code sees only these types.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from core.text import Language
from core.types import ConversationKey

ORDER_STATUSES = ("paid", "shipped", "in_transit", "delivered", "cancelled", "refunded")
"""The statuses the bot has words for; a connector may return others (shown as they are)."""


@dataclass(slots=True, frozen=True)
class Product:
    sku: str
    name_en: str
    name_zh: str
    category: str
    price: Decimal
    tags: tuple[str, ...] = ()
    description: str = ""

    def name(self, language: Language) -> str:
        return self.name_zh if language == "zh" else self.name_en

    def to_json(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "name_en": self.name_en,
            "name_zh": self.name_zh,
            "category": self.category,
            "price": str(self.price),
            "tags": list(self.tags),
        }


@dataclass(slots=True, frozen=True)
class OrderItem:
    sku: str
    name_en: str
    name_zh: str

    def name(self, language: Language) -> str:
        return self.name_zh if language == "zh" else self.name_en


@dataclass(slots=True, frozen=True)
class Order:
    order_no: str
    customer_id: str
    status: str
    """paid, shipped, in_transit, delivered, cancelled or refunded (:data:`ORDER_STATUSES`)."""
    created_at: datetime
    items: tuple[OrderItem, ...]
    total: Decimal
    carrier: str | None = None
    tracking_no: str | None = None
    eta: date | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "order_no": self.order_no,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "items": [item.sku for item in self.items],
            "total": str(self.total),
            "carrier": self.carrier,
            "tracking_no": self.tracking_no,
            "eta": self.eta.isoformat() if self.eta else None,
        }


def customer_id_for(key: ConversationKey) -> str:
    """The customer id orders are filed under: ``platform:user_id`` (``rest:alice``)."""
    return f"{key.platform}:{key.user_id}"


class OrderBook(Protocol):
    """A customer's own orders, read-only.

    Implementations answer another customer's order exactly like a missing one (``None``),
    so order numbers cannot be probed, and raise :class:`core.errors.ConnectorError` when the
    order system fails or does not answer in time.
    """

    async def find(self, order_no: str, customer_id: str) -> Order | None:
        """The customer's order ``order_no`` (canonical, e.g. ``DD20241101``), or None."""
        ...

    async def recent(self, customer_id: str, limit: int = 20) -> list[Order]:
        """Up to ``limit`` of the customer's orders, newest first."""
        ...

    async def close(self) -> None:
        """Releases connections (at shutdown)."""
        ...


class Catalogue(Protocol):
    """The products the bot may name and recommend, read-only.

    Raises :class:`core.errors.ConnectorError` when the product system fails.
    """

    async def products(
        self, category: str | None = None, max_price: Decimal | None = None
    ) -> list[Product]:
        """Products in catalogue order, of ``category`` and at most ``max_price`` when given."""
        ...

    async def close(self) -> None:
        """Releases connections (at shutdown)."""
        ...


def matching(
    products: list[Product], category: str | None, max_price: Decimal | None
) -> list[Product]:
    """``products`` of ``category`` and at most ``max_price`` (either may be None: any)."""
    return [
        p
        for p in products
        if (category is None or p.category == category)
        and (max_price is None or p.price <= max_price)
    ]
