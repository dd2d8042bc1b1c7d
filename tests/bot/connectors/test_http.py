"""The HTTP connector against a local fake of a company's order and product API."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal

import pytest
from pydantic import SecretStr, ValidationError
from structlog.testing import capture_logs

from bot.connectors.http import HttpCatalogue, HttpOrderBook
from core.config.shop import HttpCatalogueSettings, HttpOrderSettings
from core.errors import ConnectorError
from tests.fakes.order_service import (
    TOKEN,
    FakeOrderService,
    company_order,
    connector_settings,
)

SECRET = TOKEN.removeprefix("Bearer ")


@pytest.fixture
async def service() -> AsyncIterator[FakeOrderService]:
    orders = [
        company_order("KF1001", "rest:alice"),
        company_order("KF1002", "rest:alice", "delivered", placed_at="2024-10-01T09:00:00"),
        company_order("KF2001", "rest:bob", "paid", waybill=None),
    ]
    async with FakeOrderService(orders=orders) as fake:
        yield fake


@pytest.fixture
async def orders(service: FakeOrderService) -> AsyncIterator[HttpOrderBook]:
    book = HttpOrderBook(connector_settings(service.url), retry_wait_s=0.01)
    yield book
    await book.close()


async def test_an_order_is_found_and_mapped_from_the_companys_json(
    orders: HttpOrderBook, service: FakeOrderService
) -> None:
    order = await orders.find("KF1001", "rest:alice")

    assert order is not None
    assert (order.order_no, order.customer_id, order.status) == ("KF1001", "rest:alice", "shipped")
    assert (order.carrier, order.tracking_no) == ("SF Express", "SF-E2E-42")
    assert order.eta == date(2024, 11, 11)
    assert order.total == Decimal("3999.00")
    assert [(i.sku, i.name("zh")) for i in order.items] == [("XH-PH-001", "Xinghe Aurora X1")]
    [request] = service.seen
    assert request.headers["Authorization"] == TOKEN
    assert request.path == "/api/customers/rest%3Aalice/orders/KF1001"


async def test_404_and_another_customers_order_are_not_found(orders: HttpOrderBook) -> None:
    assert await orders.find("KF9999", "rest:alice") is None
    assert await orders.find("KF2001", "rest:alice") is None


async def test_customer_text_cannot_change_the_path(
    orders: HttpOrderBook, service: FakeOrderService
) -> None:
    assert await orders.find("../../bob/orders/KF2001?x=1", "rest:alice") is None
    assert await orders.find("KF2001", "rest:bob/orders/KF2001#") is None

    assert service.seen[0].path == (
        "/api/customers/rest%3Aalice/orders/..%2F..%2Fbob%2Forders%2FKF2001%3Fx%3D1"
    )
    assert service.seen[0].query == {}
    assert "rest%3Abob%2Forders%2FKF2001%23" in service.seen[1].path


async def test_a_5xx_is_tried_again_then_succeeds(
    orders: HttpOrderBook, service: FakeOrderService
) -> None:
    service.failures = [503, 502]

    order = await orders.find("KF1001", "rest:alice")

    assert order is not None and order.tracking_no == "SF-E2E-42"
    assert len(service.seen) == 3


async def test_retries_are_bounded(orders: HttpOrderBook, service: FakeOrderService) -> None:
    service.failures = [500, 500, 500, 500]

    with pytest.raises(ConnectorError):
        await orders.find("KF1001", "rest:alice")

    assert len(service.seen) == 3, "one try and two retries"


async def test_a_slow_service_is_a_polite_failure_not_retried(service: FakeOrderService) -> None:
    service.delay_s = 1.0
    book = HttpOrderBook(connector_settings(service.url, timeout_s=0.2), retry_wait_s=0.01)
    try:
        with pytest.raises(ConnectorError):
            await book.find("KF1001", "rest:alice")
    finally:
        await book.close()

    assert len(service.seen) == 1


async def test_a_refused_token_fails_and_the_secret_is_never_logged(
    service: FakeOrderService,
) -> None:
    book = HttpOrderBook(connector_settings(service.url, auth_value=SecretStr("Bearer wrong")))
    with capture_logs() as logs:
        try:
            with pytest.raises(ConnectorError, match="401"):
                await book.find("KF1001", "rest:alice")
        finally:
            await book.close()

    assert logs, "the refusal is logged"
    assert "wrong" not in repr(logs) and SECRET not in repr(logs)
    assert SECRET not in repr(connector_settings(service.url))


async def test_a_service_that_is_down_is_a_connector_error() -> None:
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    book = HttpOrderBook(connector_settings(f"http://127.0.0.1:{port}"), retry_wait_s=0.01)
    try:
        with pytest.raises(ConnectorError):
            await book.find("KF1001", "rest:alice")
    finally:
        await book.close()


async def test_recent_orders_come_newest_first(
    orders: HttpOrderBook, service: FakeOrderService
) -> None:
    recent = await orders.recent("rest:alice", limit=5)

    assert [o.order_no for o in recent] == ["KF1001", "KF1002"]
    assert service.seen[0].query == {"limit": "5"}


def test_the_url_template_must_name_the_customer() -> None:
    with pytest.raises(ValidationError, match="customer_id"):
        HttpOrderSettings(order_url="https://shop.example.com/orders/{order_no}")
    with pytest.raises(ValidationError, match="unknown placeholders"):
        HttpOrderSettings(order_url="https://x/{customer_id}/{order_no}/{secret}")


async def test_the_catalogue_maps_and_filters_products(service: FakeOrderService) -> None:
    service.products = [
        {"code": "P-1", "title": {"en": "Comet Phone", "zh": "彗星手机"}, "type": "phone",
         "price": 999, "labels": ["5g", "budget"]},
        {"code": "P-2", "title": {"en": "Nova Phone", "zh": "新星手机"}, "type": "phone",
         "price": "2999.00", "labels": []},
        {"code": "C-9", "title": {"en": "Comet Case", "zh": "彗星手机壳"}, "type": "accessory",
         "price": 59.9},
    ]  # fmt: skip
    fields = {
        "sku": "code",
        "name_en": "title.en",
        "name_zh": "title.zh",
        "category": "type",
        "tags": "labels",
    }
    catalogue = HttpCatalogue(
        HttpCatalogueSettings(
            url=service.url + "/api/products",
            list_path="items",
            fields=fields,
            auth_value=SecretStr(TOKEN),
        )
    )
    try:
        everything = await catalogue.products()
        cheap_phones = await catalogue.products(category="phone", max_price=Decimal(1000))
    finally:
        await catalogue.close()

    assert [(p.sku, p.name("zh"), p.price) for p in everything] == [
        ("P-1", "彗星手机", Decimal("999.00")),
        ("P-2", "新星手机", Decimal("2999.00")),
        ("C-9", "彗星手机壳", Decimal("59.90")),
    ]
    assert everything[0].tags == ("5g", "budget")
    assert [p.sku for p in cheap_phones] == ["P-1"]
    assert service.seen[-1].query == {"category": "phone", "max_price": "1000"}
