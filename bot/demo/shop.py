"""The shop's own data: the product catalogue and customers' orders (SQL tables).

Tables are declared on the conversation store's :class:`core.storage.models.Base` and created
by the ``0002_shop`` migration. Money is stored in integer cents (exact on every backend);
no ORM object leaves this module: callers get frozen :class:`ProductInfo` and
:class:`OrderInfo` records.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import Date, Index, Integer, String, Text, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bot.dialogue.entities import ProductCatalogue, normalize_order_number
from core.storage.db import Database, one_writer_at_a_time, storage_errors
from core.storage.models import Base, JSONDocument
from core.text import Language
from core.types import ConversationKey

log = structlog.get_logger(__name__)

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"
DEMO_PRODUCTS_CSV = DEMO_DIR / "products.csv"
DEMO_ORDERS_CSV = DEMO_DIR / "orders.csv"


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (Index(None, "category"),)

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_en: Mapped[str] = mapped_column(String(255))
    name_zh: Mapped[str] = mapped_column(String(255))
    category: Mapped[str] = mapped_column(String(64))
    price_cents: Mapped[int] = mapped_column(Integer)
    tags: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    description: Mapped[str] = mapped_column(Text, default="")


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (Index(None, "customer_id"),)

    order_no: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(255))
    """``platform:user_id`` of the customer's conversation key, e.g. ``rest:alice``."""
    status: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    items: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    """SKUs, one entry per unit."""
    total_cents: Mapped[int] = mapped_column(Integer)
    carrier: Mapped[str | None] = mapped_column(String(64))
    tracking_no: Mapped[str | None] = mapped_column(String(64))
    eta: Mapped[date | None] = mapped_column(Date)


@dataclass(slots=True, frozen=True)
class ProductInfo:
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
class OrderInfo:
    order_no: str
    customer_id: str
    status: str
    """paid, shipped, in_transit, delivered, cancelled or refunded."""
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


def _cents(value: str) -> int:
    return int((Decimal(value) * 100).to_integral_value())


def _money(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def product_info(row: Product) -> ProductInfo:
    return ProductInfo(
        sku=row.sku,
        name_en=row.name_en,
        name_zh=row.name_zh,
        category=row.category,
        price=_money(row.price_cents),
        tags=tuple(row.tags or ()),
        description=row.description,
    )


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


def _product_row(row: dict[str, str]) -> Product:
    return Product(
        sku=row["sku"],
        name_en=row["name_en"],
        name_zh=row["name_zh"],
        category=row["category"],
        price_cents=_cents(row["price"]),
        tags=[tag.strip() for tag in row["tags"].split(";") if tag.strip()],
        description=row.get("description", ""),
    )


def _order_row(row: dict[str, str]) -> Order:
    return Order(
        order_no=row["order_no"],
        customer_id=row["customer_id"],
        status=row["status"],
        created_at=datetime.fromisoformat(row["created_at"]),
        items=[sku.strip() for sku in row["items"].split(";") if sku.strip()],
        total_cents=_cents(row["total"]),
        carrier=row.get("carrier") or None,
        tracking_no=row.get("tracking_no") or None,
        eta=date.fromisoformat(row["eta"]) if row.get("eta") else None,
    )


async def _is_empty(session: AsyncSession, model: type[Product] | type[Order]) -> bool:
    count = await session.scalar(select(func.count()).select_from(model))
    return not count


async def seed_demo_shop(
    db: Database,
    products_csv: Path = DEMO_PRODUCTS_CSV,
    orders_csv: Path = DEMO_ORDERS_CSV,
) -> tuple[int, int]:
    """Loads the demo catalogue and orders into tables that are still empty.

    Safe to call at every start: a table that has rows is left alone.

    Returns:
        How many products and orders were inserted.

    Raises:
        StorageError: if the database fails.
    """
    products = orders = 0
    with storage_errors("seed the demo shop"):
        async with db.sessions() as session, session.begin():
            await one_writer_at_a_time(session, "seed the demo shop")  # N workers start at once
            if await _is_empty(session, Product):
                rows = [_product_row(row) for row in _read_csv(products_csv)]
                session.add_all(rows)
                products = len(rows)
            if await _is_empty(session, Order):
                order_rows = [_order_row(row) for row in _read_csv(orders_csv)]
                session.add_all(order_rows)
                orders = len(order_rows)
    if products or orders:
        log.info("shop.demo.seeded", products=products, orders=orders)
    return products, orders


async def list_products(db: Database) -> list[ProductInfo]:
    """Every product, by SKU."""
    with storage_errors("list products"):
        async with db.sessions() as session:
            rows = await session.scalars(select(Product).order_by(Product.sku))
            return [product_info(row) for row in rows]


def catalogue_for(products: Iterable[ProductInfo]) -> ProductCatalogue:
    """The product names :func:`bot.dialogue.entities.extract_entities` looks for."""
    return ProductCatalogue.from_names((p.sku, (p.name_en, p.name_zh)) for p in products)


async def find_order(db: Database, order_no: str, customer_id: str) -> OrderInfo | None:
    """One of the customer's own orders.

    Another customer's order is answered exactly like a missing one (None), so order
    numbers cannot be probed.

    Args:
        db: the database.
        order_no: as the customer wrote it ("dd 2024 1101" works).
        customer_id: :func:`customer_id_for` of the asking conversation.

    Raises:
        StorageError: if the database fails.
    """
    canonical = normalize_order_number(order_no)
    if canonical is None:
        return None
    with storage_errors("find an order"):
        async with db.sessions() as session:
            row = await session.scalar(
                select(Order).where(Order.order_no == canonical, Order.customer_id == customer_id)
            )
            if row is None:
                return None
            names = await _names(session, row.items)
    items = tuple(OrderItem(sku, *names.get(sku, (sku, sku))) for sku in row.items)
    return OrderInfo(
        order_no=row.order_no,
        customer_id=row.customer_id,
        status=row.status,
        created_at=row.created_at,
        items=items,
        total=_money(row.total_cents),
        carrier=row.carrier,
        tracking_no=row.tracking_no,
        eta=row.eta,
    )


async def customer_orders(db: Database, customer_id: str) -> list[OrderInfo]:
    """The customer's orders, newest first (items carry SKUs only)."""
    with storage_errors("list a customer's orders"):
        async with db.sessions() as session:
            rows = await session.scalars(
                select(Order)
                .where(Order.customer_id == customer_id)
                .order_by(Order.created_at.desc())
            )
            return [
                OrderInfo(
                    order_no=row.order_no,
                    customer_id=row.customer_id,
                    status=row.status,
                    created_at=row.created_at,
                    items=tuple(OrderItem(sku, sku, sku) for sku in row.items),
                    total=_money(row.total_cents),
                    carrier=row.carrier,
                    tracking_no=row.tracking_no,
                    eta=row.eta,
                )
                for row in rows
            ]


async def _names(session: AsyncSession, skus: list[str]) -> dict[str, tuple[str, str]]:
    rows = await session.execute(
        select(Product.sku, Product.name_en, Product.name_zh).where(Product.sku.in_(skus))
    )
    return {sku: (name_en, name_zh) for sku, name_en, name_zh in rows}
