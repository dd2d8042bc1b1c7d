"""Customers ask through the REST channel, and the answers come from the company's own order and
product APIs (the HTTP connectors, configured in settings), not the demo tables."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.app import Kefu
from core.config.shop import CatalogueSourceSettings, HttpCatalogueSettings, OrderSourceSettings
from core.settings import KefuSettings
from tests.bot.conftest import Client, ask
from tests.fakes.order_service import TOKEN, FakeOrderService, company_order, connector_settings


@pytest.fixture
async def service() -> AsyncIterator[FakeOrderService]:
    orders = [company_order("DD20241101", "rest:alice", "shipped", waybill="SF-E2E-42")]
    async with FakeOrderService(orders=orders) as fake:
        yield fake


@pytest.fixture
async def shop_client(
    settings: KefuSettings, service: FakeOrderService
) -> AsyncIterator[TestClient[Any, Any]]:
    settings.shop.orders = OrderSourceSettings(
        backend="http", http=connector_settings(service.url, retries=1, timeout_s=1.0)
    )
    app = await Kefu.create(settings, configure_logs=False)
    try:
        async with TestClient(TestServer(app.web_app())) as client:
            yield client
    finally:
        await app.close()


async def test_the_order_status_comes_from_the_companys_order_api(
    shop_client: Client, service: FakeOrderService
) -> None:
    [prompt] = await ask(shop_client, "alice", "我的订单到哪了")
    assert prompt["custom"]["answer_kind"] == "slot_prompt"

    [status] = await ask(shop_client, "alice", "DD20241101")

    assert status["custom"]["answer_kind"] == "tool"
    assert "已发货" in status["text"] and "SF-E2E-42" in status["text"]
    assert "XE202411080276" not in status["text"], "not the demo table's tracking number"
    assert service.seen[-1].path == "/api/customers/rest%3Aalice/orders/DD20241101"


async def test_another_customer_gets_not_found_from_the_api(
    shop_client: Client, service: FakeOrderService
) -> None:
    [reply] = await ask(shop_client, "mallory", "Where is my order DD20241101?")

    assert "couldn't find" in reply["text"]
    assert "SF-E2E-42" not in reply["text"]
    assert service.seen[-1].path == "/api/customers/rest%3Amallory/orders/DD20241101"


async def test_an_order_api_that_is_down_gets_a_polite_answer(
    shop_client: Client, service: FakeOrderService
) -> None:
    service.failures = [503, 503]

    [reply] = await ask(shop_client, "alice", "我的订单 DD20241101 到哪了？")

    assert "暂时无法查询" in reply["text"]
    assert reply["buttons"], "a way to a human"
    assert reply["custom"]["lookup_failed"] is True
    assert len(service.seen) == 2, "one try and one retry"


QUIET_BUDS = {
    "code": "ACME-HP-1",
    "title": {"en": "Acme Quiet Buds", "zh": "Acme 静音耳机"},
    "type": "headphones",
    "price": 499,
    "labels": ["noise-cancelling", "wireless"],
}


async def test_recommendations_come_from_the_companys_product_api_even_if_down_at_start(
    settings: KefuSettings, service: FakeOrderService
) -> None:
    service.products = [QUIET_BUDS]
    service.failures = [503]  # the product list at start: the bot starts anyway
    settings.shop.catalogue = CatalogueSourceSettings(
        backend="http",
        http=HttpCatalogueSettings(
            url=service.url + "/api/products",
            list_path="items",
            fields={
                "sku": "code",
                "name_en": "title.en",
                "name_zh": "title.zh",
                "category": "type",
                "tags": "labels",
            },
            auth_value=SecretStr(TOKEN),
            retries=0,
        ),
    )
    app = await Kefu.create(settings, configure_logs=False)
    try:
        async with TestClient(TestServer(app.web_app())) as client:
            [reply] = await ask(client, "pat", "推荐一款降噪耳机")
    finally:
        await app.close()

    assert reply["custom"]["answer_kind"] == "recommendation"
    assert reply["custom"]["products"] == ["ACME-HP-1"]
    assert "Acme 静音耳机" in reply["text"]
    assert [seen.path for seen in service.seen] == ["/api/products", "/api/products"]
