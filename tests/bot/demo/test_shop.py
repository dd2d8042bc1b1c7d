"""The demo shop's tables behind OrderBook and Catalogue: seeding, the customer's own orders."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from bot.demo.shop import DemoCatalogue, DemoOrderBook, seed_demo_shop
from bot.dialogue.shop_replies import order_status_reply
from core.shop import customer_id_for
from core.storage import Database
from core.storage.models import Base
from core.types import ConversationKey

SHOP_TABLES = {"products", "orders"}


async def test_the_demo_shop_is_loaded_once(
    shop_db: Database, demo_catalogue: DemoCatalogue
) -> None:
    products = await demo_catalogue.products()

    assert len(products) >= 30
    assert await seed_demo_shop(shop_db) == (0, 0), "a second start inserts nothing"
    earbuds = next(p for p in products if p.sku == "XH-HP-002")
    assert earbuds.price == Decimal("899.00")
    assert "noise-cancelling" in earbuds.tags
    assert earbuds.name("zh") == "星河 潮汐 Buds Pro"


async def test_the_catalogue_filters_by_category_and_price(demo_catalogue: DemoCatalogue) -> None:
    headphones = await demo_catalogue.products(category="headphones", max_price=Decimal(1000))

    assert headphones
    assert all(p.category == "headphones" and p.price <= 1000 for p in headphones)
    assert "XH-HP-002" in [p.sku for p in headphones]


async def test_a_customer_finds_their_own_order(demo_orders: DemoOrderBook) -> None:
    key = ConversationKey("rest", "alice", "alice")

    order = await demo_orders.find("DD20241101", customer_id_for(key))

    assert order is not None
    assert order.order_no == "DD20241101"
    assert order.status == "in_transit"
    assert order.tracking_no == "XE202411080276"
    assert order.eta == date(2024, 11, 11)
    assert [item.name_en for item in order.items] == [
        "Xinghe Aurora X1",
        "Xinghe Aurora X1 Clear Case",
    ]
    reply = order_status_reply(order, "DD20241101", "zh")
    assert "运输中" in reply and "XE202411080276" in reply and "2024-11-11" in reply


async def test_another_customers_order_is_not_found(demo_orders: DemoOrderBook) -> None:
    assert await demo_orders.find("DD20241101", "rest:bob") is None
    assert await demo_orders.find("DD20241101", "web:alice") is None
    assert await demo_orders.find("DD99999999", "rest:alice") is None
    assert await demo_orders.find("x' OR '1'='1", "rest:alice") is None
    assert "couldn't find order DD20241101" in order_status_reply(None, "DD20241101", "en")


async def test_recent_orders_are_the_customers_own_newest_first(
    demo_orders: DemoOrderBook,
) -> None:
    orders = await demo_orders.recent("rest:alice")

    assert orders and all(order.customer_id == "rest:alice" for order in orders)
    assert [o.created_at for o in orders] == sorted((o.created_at for o in orders), reverse=True)
    assert len(await demo_orders.recent("rest:alice", limit=1)) == 1
    assert await demo_orders.recent("rest:nobody") == []


async def test_the_shop_models_match_the_0002_shop_migration(shop_db: Database) -> None:
    def shop_only(name: str | None, type_: str) -> bool:
        return type_ != "table" or name in SHOP_TABLES

    def differences(connection: Connection) -> list[object]:
        options = {
            "compare_type": True,
            "compare_server_default": True,
            "include_name": lambda name, type_, _parents: shop_only(name, type_),
            "include_object": lambda _obj, name, type_, _reflected, _other: shop_only(name, type_),
        }
        context = MigrationContext.configure(connection, opts=options)
        return list(compare_metadata(context, Base.metadata))

    async with shop_db.engine.connect() as connection:
        assert await connection.run_sync(differences) == []
