"""A company's order and product API, as Kefu's HTTP connector meets it: JSON in the company's
own shape, a bearer token, and failures on request (5xx, slowness)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import web
from pydantic import SecretStr

from core.config.shop import HttpOrderSettings
from tests.fakes.server import LocalServer

TOKEN = "Bearer order-api-secret"

ORDER_URL = "/api/customers/{customer_id}/orders/{order_no}"
RECENT_URL = "/api/customers/{customer_id}/orders?limit={limit}"
FIELDS = {
    "order_no": "id",
    "customer_id": "customer.id",
    "status": "state",
    "created_at": "placedAt",
    "items": "lines",
    "total": "amount.value",
    "carrier": "shipping.carrier",
    "tracking_no": "shipping.waybill",
    "eta": "shipping.eta",
}
"""Our fields in the company's JSON (a deployment sets them in KEFU_SHOP__ORDERS__HTTP__FIELDS)."""
ITEM_FIELDS = {"sku": "product.sku", "name": "product.title"}


def connector_settings(base_url: str, **overrides: object) -> HttpOrderSettings:
    """Kefu's HTTP order connector set up for this service at ``base_url``."""
    values: dict[str, object] = {
        "order_url": base_url + ORDER_URL,
        "recent_url": base_url + RECENT_URL,
        "order_path": "data.order",
        "list_path": "data",
        "fields": FIELDS,
        "item_fields": ITEM_FIELDS,
        "auth_value": SecretStr(TOKEN),
        "timeout_s": 2.0,
        "retries": 2,
    }
    return HttpOrderSettings.model_validate({**values, **overrides})


def company_order(
    order_no: str,
    customer_id: str,
    state: str = "shipped",
    waybill: str | None = "SF-E2E-42",
    placed_at: str = "2024-11-08T10:00:00+08:00",
) -> dict[str, Any]:
    """An order as the company's API writes it."""
    return {
        "id": order_no,
        "customer": {"id": customer_id, "tier": "gold"},
        "state": state,
        "placedAt": placed_at,
        "lines": [{"product": {"sku": "XH-PH-001", "title": "Xinghe Aurora X1"}, "qty": 1}],
        "amount": {"value": "3999.00", "currency": "CNY"},
        "shipping": {"carrier": "SF Express", "waybill": waybill, "eta": "2024-11-11"},
    }


@dataclass(slots=True, frozen=True)
class Seen:
    """One request the service received."""

    path: str
    """As sent, percent-encoding kept."""
    headers: dict[str, str]
    query: dict[str, str]


@dataclass
class FakeOrderService:
    """Serves ``orders`` (by customer and number) and ``products`` on 127.0.0.1."""

    orders: list[dict[str, Any]] = field(default_factory=list)
    products: list[dict[str, Any]] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)
    """Statuses answered to the next requests, one each, before answering normally."""
    delay_s: float = 0.0
    seen: list[Seen] = field(default_factory=list)
    url: str = ""
    _server: LocalServer | None = None

    async def __aenter__(self) -> FakeOrderService:
        app = web.Application()
        app.router.add_get("/api/customers/{customer}/orders/{order_no}", self._order)
        app.router.add_get("/api/customers/{customer}/orders", self._recent)
        app.router.add_get("/api/products", self._products)
        self._server = LocalServer(app)
        self.url = await self._server.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._server is not None:
            await self._server.stop()

    async def _gate(self, request: web.Request) -> web.Response | None:
        self.seen.append(Seen(request.raw_path, dict(request.headers), dict(request.query)))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.failures:
            return web.json_response({"error": "unavailable"}, status=self.failures.pop(0))
        if request.headers.get("Authorization") != TOKEN:
            return web.json_response({"error": "unauthorised"}, status=401)
        return None

    async def _order(self, request: web.Request) -> web.Response:
        refused = await self._gate(request)
        if refused is not None:
            return refused
        customer, number = request.match_info["customer"], request.match_info["order_no"]
        for order in self.orders:
            if order["id"] == number and order["customer"]["id"] == customer:
                return web.json_response({"data": {"order": order}})
        return web.json_response({"error": "no such order"}, status=404)

    async def _recent(self, request: web.Request) -> web.Response:
        refused = await self._gate(request)
        if refused is not None:
            return refused
        customer = request.match_info["customer"]
        mine = [o for o in self.orders if o["customer"]["id"] == customer]
        mine.sort(key=lambda o: str(o["placedAt"]), reverse=True)
        return web.json_response({"data": mine[: int(request.query.get("limit", "20"))]})

    async def _products(self, request: web.Request) -> web.Response:
        refused = await self._gate(request)
        if refused is not None:
            return refused
        return web.json_response({"items": self.products})
