"""Recommendations over the catalogue, shaped by the customer's request and history."""

from __future__ import annotations

from pathlib import Path

from bot.demo.shop import DemoCatalogue, DemoOrderBook
from bot.dialogue.recommend import CustomerHistory, customer_history, recommend
from bot.dialogue.shop_replies import recommendations_reply
from bot.texts.catalog import Catalog, reset_catalog, use_catalog
from core.config.texts import TextsSettings


async def test_recommendations_follow_category_features_and_budget(
    demo_catalogue: DemoCatalogue,
) -> None:
    picks = await recommend(demo_catalogue, CustomerHistory(), "推荐一款降噪耳机，一千以内")

    assert picks[0].product.sku == "XH-HP-002"
    assert all(p.product.category == "headphones" for p in picks)
    assert all(p.product.price <= 1000 for p in picks)
    assert "降噪" in picks[0].reason_zh and "1000" in picks[0].reason_zh
    assert "noise cancelling" in picks[0].reason_en.lower()


async def test_without_history_a_request_gets_catalogue_order(
    demo_catalogue: DemoCatalogue,
) -> None:
    picks = await recommend(demo_catalogue, CustomerHistory(), "what laptop should I buy", k=3)

    assert len(picks) == 3
    assert all(p.product.category == "laptop" for p in picks)
    assert all(p.reason_en and p.reason_zh for p in picks)


async def test_history_puts_what_the_customer_asked_about_first(
    demo_catalogue: DemoCatalogue,
) -> None:
    without = await recommend(demo_catalogue, CustomerHistory(), "what laptop should I buy")
    with_history = await recommend(
        demo_catalogue, CustomerHistory(asked=("XH-LT-003",)), "what laptop should I buy"
    )

    assert without[0].product.sku != "XH-LT-003"
    assert with_history[0].product.sku == "XH-LT-003"
    assert "asked about it" in with_history[0].reason_en


async def test_what_the_customer_bought_is_not_recommended_again(
    demo_catalogue: DemoCatalogue, demo_orders: DemoOrderBook
) -> None:
    history = await customer_history(demo_orders, "rest:alice")

    phones = await recommend(demo_catalogue, history, "推荐一款手机", k=5)
    again = await recommend(demo_catalogue, history, "我想再买一个极光手机", k=5)

    assert "XH-PH-001" in history.bought
    assert "XH-PH-001" not in [p.product.sku for p in phones]
    assert "XH-PH-001" in [p.product.sku for p in again]


async def test_accessories_that_go_with_a_purchase_come_first(
    demo_catalogue: DemoCatalogue,
) -> None:
    history = CustomerHistory(bought=("XH-PH-002",))

    picks = await recommend(demo_catalogue, history, "recommend some accessories")

    assert picks[0].product.sku == "XH-AC-006"
    assert "Aurora X1 Pro" in picks[0].reason_en


async def test_refunded_and_cancelled_orders_do_not_count_as_bought(
    demo_orders: DemoOrderBook,
) -> None:
    history = await customer_history(demo_orders, "wecom:zhangwei")

    assert "XH-HP-002" not in history.bought, "DD20241041 was refunded"
    assert "XH-LT-005" in history.bought


async def test_nothing_fits_an_impossible_budget(demo_catalogue: DemoCatalogue) -> None:
    picks = await recommend(demo_catalogue, CustomerHistory(), "笔记本电脑，预算100")

    assert picks == []
    assert "放宽预算" in recommendations_reply(picks, "zh")


async def test_the_reply_lists_each_product_with_its_reason(
    demo_catalogue: DemoCatalogue,
) -> None:
    picks = await recommend(demo_catalogue, CustomerHistory(), "recommend a smartwatch for kids")

    reply = recommendations_reply(picks, "en")

    assert reply.splitlines()[1].startswith("1. Xinghe Comet Kids Watch — ")
    assert len(reply.splitlines()) == len(picks) + 1


async def test_a_shops_catalog_file_words_the_reasons(
    demo_catalogue: DemoCatalogue, tmp_path: Path
) -> None:
    (tmp_path / "en.yaml").write_text(
        "shop:\n  recommend:\n    reason:\n      budget: 'under your {budget} yuan limit'\n",
        encoding="utf-8",
    )
    picks = await recommend(
        demo_catalogue, CustomerHistory(), "noise cancelling headphones under 1000"
    )
    token = use_catalog(Catalog.load(TextsSettings(dir=tmp_path)))
    try:
        assert "under your 1000 yuan limit" in picks[0].reason("en")
        assert "在您 ¥1000 的预算内" in picks[0].reason("zh")
    finally:
        reset_catalog(token)
