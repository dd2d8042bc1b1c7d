"""The demo shop's catalogue and orders: SQL tables next to the conversations.

The bundled Xinghe Electronics shop, and the default :class:`~core.shop.OrderBook` and
:class:`~core.shop.Catalogue` (``KEFU_SHOP__ORDERS__BACKEND=demo``). Tables are declared on
the conversation store's :class:`core.storage.models.Base` and created by the ``0002_shop``
migration. Money is stored in integer cents (exact on every backend); no ORM object leaves
this module: callers get frozen :class:`~core.shop.Product` and :class:`~core.shop.Order`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import structlog
from sqlalchemy import Date, Index, Integer, String, Text, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from core.errors import ConnectorError, StorageError
from core.shop import Order, OrderItem, Product, matching
from core.storage.db import Database, one_writer_at_a_time, storage_errors
from core.storage.models import Base, JSONDocument

log = structlog.get_logger(__name__)

DEMO_DIR = Path(__file__).resolve().parent
DEMO_PRODUCTS_CSV = DEMO_DIR / "products.csv"
DEMO_ORDERS_CSV = DEMO_DIR / "orders.csv"


class ProductRow(Base):
    __tablename__ = "products"
    __table_args__ = (Index(None, "category"),)

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_en: Mapped[str] = mapped_column(String(255))
    name_zh: Mapped[str] = mapped_column(String(255))
    category: Mapped[str] = mapped_column(String(64))
    price_cents: Mapped[int] = mapped_column(Integer)
    tags: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    description: Mapped[str] = mapped_column(Text, default="")


class OrderRow(Base):
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


def _cents(value: str) -> int:
    return int((Decimal(value) * 100).to_integral_value())


def _money(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def _product(row: ProductRow) -> Product:
    return Product(
        sku=row.sku,
        name_en=row.name_en,
        name_zh=row.name_zh,
        category=row.category,
        price=_money(row.price_cents),
        tags=tuple(row.tags or ()),
        description=row.description,
    )


def _order(row: OrderRow, names: dict[str, tuple[str, str]]) -> Order:
    return Order(
        order_no=row.order_no,
        customer_id=row.customer_id,
        status=row.status,
        created_at=row.created_at,
        items=tuple(OrderItem(sku, *names.get(sku, (sku, sku))) for sku in row.items),
        total=_money(row.total_cents),
        carrier=row.carrier,
        tracking_no=row.tracking_no,
        eta=row.eta,
    )


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


def _product_row(row: dict[str, str]) -> ProductRow:
    return ProductRow(
        sku=row["sku"],
        name_en=row["name_en"],
        name_zh=row["name_zh"],
        category=row["category"],
        price_cents=_cents(row["price"]),
        tags=[tag.strip() for tag in row["tags"].split(";") if tag.strip()],
        description=row.get("description", ""),
    )


def _order_row(row: dict[str, str]) -> OrderRow:
    return OrderRow(
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


async def _is_empty(session: AsyncSession, model: type[ProductRow] | type[OrderRow]) -> bool:
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
            if await _is_empty(session, ProductRow):
                rows = [_product_row(row) for row in _read_csv(products_csv)]
                session.add_all(rows)
                products = len(rows)
            if await _is_empty(session, OrderRow):
                order_rows = [_order_row(row) for row in _read_csv(orders_csv)]
                session.add_all(order_rows)
                orders = len(order_rows)
    if products or orders:
        log.info("shop.demo.seeded", products=products, orders=orders)
    return products, orders


@contextmanager
def _unavailable(action: str) -> Iterator[None]:
    """The demo tables failing reads to the dialogue like any other connector failing."""
    try:
        with storage_errors(action):
            yield
    except StorageError as e:
        raise ConnectorError(f"the demo shop could not {action}") from e


class DemoCatalogue:
    """The demo products table, by SKU."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def products(
        self, category: str | None = None, max_price: Decimal | None = None
    ) -> list[Product]:
        with _unavailable("list products"):
            async with self._db.sessions() as session:
                rows = await session.scalars(select(ProductRow).order_by(ProductRow.sku))
                return matching([_product(row) for row in rows], category, max_price)

    async def close(self) -> None:
        """Nothing to release: the database belongs to the conversation store."""


class DemoOrderBook:
    """The demo orders table; item names come from the demo products table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def find(self, order_no: str, customer_id: str) -> Order | None:
        with _unavailable("find an order"):
            async with self._db.sessions() as session:
                row = await session.scalar(
                    select(OrderRow).where(
                        OrderRow.order_no == order_no, OrderRow.customer_id == customer_id
                    )
                )
                if row is None:
                    return None
                return _order(row, await _names(session, row.items))

    async def recent(self, customer_id: str, limit: int = 20) -> list[Order]:
        with _unavailable("list a customer's orders"):
            async with self._db.sessions() as session:
                rows = list(
                    await session.scalars(
                        select(OrderRow)
                        .where(OrderRow.customer_id == customer_id)
                        .order_by(OrderRow.created_at.desc())
                        .limit(limit)
                    )
                )
                names = await _names(session, [sku for row in rows for sku in row.items])
                return [_order(row, names) for row in rows]

    async def close(self) -> None:
        """Nothing to release: the database belongs to the conversation store."""


async def _names(session: AsyncSession, skus: list[str]) -> dict[str, tuple[str, str]]:
    rows = await session.execute(
        select(ProductRow.sku, ProductRow.name_en, ProductRow.name_zh).where(
            ProductRow.sku.in_(skus)
        )
    )
    return {sku: (name_en, name_zh) for sku, name_en, name_zh in rows}
