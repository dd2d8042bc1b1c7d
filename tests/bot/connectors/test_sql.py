"""The SQL connector against a second database: the company's own, with its own column names."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from bot.connectors.sql import SqlCatalogue, SqlOrderBook
from core.config.shop import SqlCatalogueSettings, SqlOrderSettings
from core.errors import ConnectorError
from tests.fakes.ports import free_port

ORDER_COLUMNS = (
    "order_id AS order_no, cust AS customer_id, state AS status, placed_at AS created_at, "
    "lines AS items, amount AS total, courier AS carrier, waybill AS tracking_no, due AS eta"
)
FIND = f"SELECT {ORDER_COLUMNS} FROM shop_orders WHERE order_id = :order_no AND cust = :customer_id"
RECENT = (
    f"SELECT {ORDER_COLUMNS} FROM shop_orders WHERE cust = :customer_id "
    "ORDER BY placed_at DESC LIMIT :limit"
)
LINES = [{"sku": "P-1", "name_en": "Comet Phone", "name_zh": "彗星手机"}, {"sku": "C-9"}]
ORDERS = [
    ("KF1001", "rest:alice", "in_transit", "2024-11-08T10:00:00", json.dumps(LINES), 1299.5,
     "SF Express", "SF123", "2024-11-11"),
    ("KF1002", "rest:alice", "delivered", "2024-11-01T09:00:00", "C-9", 59, None, None, None),
    ("KF2001", "rest:bob", "paid", "2024-11-09T12:00:00", "P-1", 999, None, None, None),
]  # fmt: skip
PRODUCTS = [
    ("P-1", "Comet Phone", "彗星手机", "phone", "999.00", "5g;budget", "A phone."),
    ("C-9", "Comet Case", "彗星手机壳", "accessory", "59.00", "", ""),
    ("P-2", "Nova Phone", "新星手机", "phone", "2999.00", '["flagship"]', "Big."),
]


@pytest.fixture
def company_db(tmp_path: Path) -> Path:
    """The company's own database file, made the way their system would (not by Kefu)."""
    path = tmp_path / "company.db"
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE shop_orders (order_id TEXT PRIMARY KEY, cust TEXT, state TEXT, "
            "placed_at TEXT, lines TEXT, amount REAL, courier TEXT, waybill TEXT, due TEXT)"
        )
        connection.executemany("INSERT INTO shop_orders VALUES (?,?,?,?,?,?,?,?,?)", ORDERS)
        connection.execute(
            "CREATE TABLE products (sku TEXT, name_en TEXT, name_zh TEXT, category TEXT, "
            "price TEXT, tags TEXT, description TEXT)"
        )
        connection.executemany("INSERT INTO products VALUES (?,?,?,?,?,?,?)", PRODUCTS)
    connection.close()
    return path


def url(path: Path) -> SecretStr:
    return SecretStr(f"sqlite+aiosqlite:///file:{path}?mode=ro&uri=true")


@pytest.fixture
async def orders(company_db: Path) -> AsyncIterator[SqlOrderBook]:
    book = SqlOrderBook(SqlOrderSettings(url=url(company_db), find_query=FIND, recent_query=RECENT))
    yield book
    await book.close()


@pytest.fixture
async def catalogue(company_db: Path) -> AsyncIterator[SqlCatalogue]:
    products = SqlCatalogue(SqlCatalogueSettings(url=url(company_db)))
    yield products
    await products.close()


async def test_a_customers_order_is_read_by_column_name(orders: SqlOrderBook) -> None:
    order = await orders.find("KF1001", "rest:alice")

    assert order is not None
    assert (order.order_no, order.customer_id, order.status) == (
        "KF1001",
        "rest:alice",
        "in_transit",
    )
    assert order.created_at == datetime(2024, 11, 8, 10, 0)
    assert order.total == Decimal("1299.50")
    assert (order.carrier, order.tracking_no, order.eta) == (
        "SF Express",
        "SF123",
        date(2024, 11, 11),
    )
    assert [(i.sku, i.name("en"), i.name("zh")) for i in order.items] == [
        ("P-1", "Comet Phone", "彗星手机"),
        ("C-9", "C-9", "C-9"),
    ]


@pytest.mark.parametrize(
    ("order_no", "customer_id"),
    [
        ("KF2001", "rest:alice"),  # bob's order
        ("x' OR '1'='1", "rest:alice"),
        ("KF2001' OR cust = 'rest:bob", "rest:alice"),
        ("KF1001", "rest:bob' OR '1'='1"),
        ("KF1001", "x' OR 1=1 --"),
    ],
)
async def test_customer_text_is_bound_and_never_reaches_another_order(
    orders: SqlOrderBook, order_no: str, customer_id: str
) -> None:
    assert await orders.find(order_no, customer_id) is None


async def test_recent_orders_are_the_customers_own_newest_first(orders: SqlOrderBook) -> None:
    recent = await orders.recent("rest:alice")

    assert [o.order_no for o in recent] == ["KF1001", "KF1002"]
    assert [o.order_no for o in await orders.recent("rest:alice", limit=1)] == ["KF1001"]
    assert await orders.recent("rest:alice' OR '1'='1") == []


async def test_a_query_that_returns_other_customers_rows_shows_none_of_them(
    company_db: Path,
) -> None:
    careless = SqlOrderBook(
        SqlOrderSettings(
            url=url(company_db),
            recent_query=f"SELECT {ORDER_COLUMNS} FROM shop_orders "
            "WHERE cust = :customer_id OR 1 = 1",
        )
    )
    try:
        recent = await careless.recent("rest:alice")
    finally:
        await careless.close()

    assert {o.customer_id for o in recent} == {"rest:alice"}


async def test_the_connection_is_read_only(company_db: Path) -> None:
    writer = SqlOrderBook(
        SqlOrderSettings(
            url=SecretStr(f"sqlite+aiosqlite:///{company_db}"),  # not opened read-only by URL
            find_query="UPDATE shop_orders SET state = 'cancelled' "
            "WHERE order_id = :order_no AND cust = :customer_id",
        )
    )
    try:
        with pytest.raises(ConnectorError):
            await writer.find("KF1001", "rest:alice")
    finally:
        await writer.close()

    with sqlite3.connect(company_db) as connection:
        [(state,)] = connection.execute("SELECT state FROM shop_orders WHERE order_id = 'KF1001'")
    connection.close()
    assert state == "in_transit"


async def test_a_database_that_cannot_be_reached_is_a_connector_error() -> None:
    # A database server that is down: nothing listens on a closed loopback port. (A missing
    # SQLite file fails too, but aiosqlite then finishes its worker thread after the test's
    # event loop has closed, which pytest reports against the next test.)
    port = free_port()
    down = SecretStr(f"postgresql+asyncpg://shop:shop@127.0.0.1:{port}/shop")
    missing = SqlOrderBook(SqlOrderSettings(url=down))
    try:
        with pytest.raises(ConnectorError):
            await missing.find("KF1001", "rest:alice")
    finally:
        await missing.close()


def test_a_query_must_bind_the_customer() -> None:
    with pytest.raises(ValidationError, match="customer_id"):
        SqlOrderSettings(find_query="SELECT * FROM shop_orders WHERE order_id = :order_no")
    with pytest.raises(ValidationError, match="customer_id"):
        SqlOrderSettings(recent_query="SELECT * FROM shop_orders")


async def test_the_catalogue_reads_products_and_filters_them(catalogue: SqlCatalogue) -> None:
    products = await catalogue.products()
    phones = await catalogue.products(category="phone", max_price=Decimal(1000))

    assert [p.sku for p in products] == ["C-9", "P-1", "P-2"]
    by_sku = {p.sku: p for p in products}
    assert by_sku["P-1"].tags == ("5g", "budget")
    assert by_sku["P-2"].tags == ("flagship",)
    assert by_sku["C-9"].price == Decimal("59.00")
    assert [p.sku for p in phones] == ["P-1"]
