"""The shop tables: demo data, order lookup for the customer's own orders, recommendations."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from bot.dialogue.recommend import CustomerHistory, customer_history, recommend
from bot.dialogue.shop import (
    customer_id_for,
    find_order,
    list_products,
    seed_demo_shop,
)
from bot.dialogue.shop_replies import order_status_reply, recommendations_reply
from core.storage import Database
from core.storage.models import Base
from core.types import ConversationKey

SHOP_TABLES = {"products", "orders"}


async def test_the_demo_shop_is_loaded_once(shop_db: Database) -> None:
    products = await list_products(shop_db)

    assert len(products) >= 30
    assert await seed_demo_shop(shop_db) == (0, 0), "a second start inserts nothing"
    earbuds = next(p for p in products if p.sku == "XH-HP-002")
    assert earbuds.price == Decimal("899.00")
    assert "noise-cancelling" in earbuds.tags
    assert earbuds.name("zh") == "星河 潮汐 Buds Pro"


async def test_a_customer_finds_their_own_order(shop_db: Database) -> None:
    key = ConversationKey("rest", "alice", "alice")

    order = await find_order(shop_db, "dd 2024 1101", customer_id_for(key))

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


async def test_another_customers_order_is_not_found(shop_db: Database) -> None:
    assert await find_order(shop_db, "DD20241101", "rest:bob") is None
    assert await find_order(shop_db, "DD20241101", "web:alice") is None
    assert await find_order(shop_db, "DD99999999", "rest:alice") is None
    assert await find_order(shop_db, "not a number", "rest:alice") is None
    assert "couldn't find order DD20241101" in order_status_reply(None, "DD20241101", "en")


async def test_recommendations_follow_category_features_and_budget(shop_db: Database) -> None:
    picks = await recommend(shop_db, CustomerHistory(), "推荐一款降噪耳机，一千以内")

    assert picks[0].product.sku == "XH-HP-002"
    assert all(p.product.category == "headphones" for p in picks)
    assert all(p.product.price <= 1000 for p in picks)
    assert "降噪" in picks[0].reason_zh and "1000" in picks[0].reason_zh
    assert "noise cancelling" in picks[0].reason_en.lower()


async def test_without_history_a_request_gets_catalogue_order(shop_db: Database) -> None:
    picks = await recommend(shop_db, CustomerHistory(), "what laptop should I buy", k=3)

    assert len(picks) == 3
    assert all(p.product.category == "laptop" for p in picks)
    assert all(p.reason_en and p.reason_zh for p in picks)


async def test_history_puts_what_the_customer_asked_about_first(shop_db: Database) -> None:
    without = await recommend(shop_db, CustomerHistory(), "what laptop should I buy")
    with_history = await recommend(
        shop_db, CustomerHistory(asked=("XH-LT-003",)), "what laptop should I buy"
    )

    assert without[0].product.sku != "XH-LT-003"
    assert with_history[0].product.sku == "XH-LT-003"
    assert "asked about it" in with_history[0].reason_en


async def test_what_the_customer_bought_is_not_recommended_again(shop_db: Database) -> None:
    history = await customer_history(shop_db, "rest:alice")

    phones = await recommend(shop_db, history, "推荐一款手机", k=5)
    again = await recommend(shop_db, history, "我想再买一个极光手机", k=5)

    assert "XH-PH-001" in history.bought
    assert "XH-PH-001" not in [p.product.sku for p in phones]
    assert "XH-PH-001" in [p.product.sku for p in again]


async def test_accessories_that_go_with_a_purchase_come_first(shop_db: Database) -> None:
    history = CustomerHistory(bought=("XH-PH-002",))

    picks = await recommend(shop_db, history, "recommend some accessories")

    assert picks[0].product.sku == "XH-AC-006"
    assert "Aurora X1 Pro" in picks[0].reason_en


async def test_refunded_and_cancelled_orders_do_not_count_as_bought(shop_db: Database) -> None:
    history = await customer_history(shop_db, "wecom:zhangwei")

    assert "XH-HP-002" not in history.bought, "DD20241041 was refunded"
    assert "XH-LT-005" in history.bought


async def test_nothing_fits_an_impossible_budget(shop_db: Database) -> None:
    picks = await recommend(shop_db, CustomerHistory(), "笔记本电脑，预算100")

    assert picks == []
    assert "放宽预算" in recommendations_reply(picks, "zh")


async def test_the_reply_lists_each_product_with_its_reason(shop_db: Database) -> None:
    picks = await recommend(shop_db, CustomerHistory(), "recommend a smartwatch for kids")

    reply = recommendations_reply(picks, "en")

    assert reply.splitlines()[1].startswith("1. Xinghe Comet Kids Watch — ")
    assert len(reply.splitlines()) == len(picks) + 1


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
