"""Orders and products read from the company's own HTTP API (JSON).

The order number and customer id go into the configured URL template URL-quoted, so a
customer's text cannot change the path or add query parameters. The secret of the auth header
comes from settings and is never logged. A 5xx answer or a failed connection is tried again a
bounded number of times (tenacity); a slow service is not, so the customer's wait stays
bounded by ``timeout_s``. 404 means "no such order for this customer".
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx
import structlog
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from bot.connectors.records import (
    ORDER_FIELDS,
    PRODUCT_FIELDS,
    dotted,
    order_from,
    own_orders,
    pick,
    product_from,
)
from core.config.shop import HttpCatalogueSettings, HttpOrderSettings, HttpSourceSettings
from core.errors import ConfigError, ConnectorError
from core.shop import Order, Product, matching

log = structlog.get_logger(__name__)


class _ServerError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


_TRY_AGAIN = (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError, _ServerError)


class JsonSource:
    """GETs JSON from one company system with its auth header, a timeout and bounded retries."""

    def __init__(
        self, settings: HttpSourceSettings, system: str, *, retry_wait_s: float = 0.2
    ) -> None:
        headers = {"Accept": "application/json"}
        if settings.auth_value is not None:
            headers[settings.auth_header] = settings.auth_value.get_secret_value()
        # No request yet: the client connects on the first lookup.
        self._client = httpx.AsyncClient(headers=headers, timeout=settings.timeout_s)
        self._attempts = settings.retries + 1
        self._retry_wait_s = retry_wait_s
        self._system = system

    async def get(self, url: str, params: dict[str, str] | None = None) -> Any | None:
        """The JSON body at ``url``, or None when the service answers 404.

        Raises:
            ConnectorError: the service kept failing, refused us (401, 403, other 4xx), took
                longer than the timeout, or answered something that is not JSON.
        """
        try:
            response = await self._get_with_retries(url, params)
        except (httpx.HTTPError, _ServerError) as e:
            log.warning("shop.http.failed", system=self._system, error=type(e).__name__)
            raise ConnectorError(f"the {self._system} service failed: {type(e).__name__}") from e
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            log.warning("shop.http.refused", system=self._system, status=response.status_code)
            raise ConnectorError(f"the {self._system} service answered {response.status_code}")
        try:
            return response.json()
        except ValueError as e:
            raise ConnectorError(f"the {self._system} service did not answer JSON") from e

    async def _get_with_retries(self, url: str, params: dict[str, str] | None) -> httpx.Response:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._attempts),
            wait=wait_exponential(multiplier=self._retry_wait_s, max=2.0),
            retry=retry_if_exception_type(_TRY_AGAIN),
            before_sleep=self._log_retry,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                response = await self._client.get(url, params=params)
                if response.status_code >= 500:
                    raise _ServerError(response.status_code)
                return response
        raise AssertionError("tenacity either returns or re-raises")  # pragma: no cover

    def _log_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.info(
            "shop.http.retrying",
            system=self._system,
            attempt=state.attempt_number,
            error=str(error) if isinstance(error, _ServerError) else type(error).__name__,
        )

    async def close(self) -> None:
        await self._client.aclose()


def fill(template: str, **values: str | int) -> str:
    """``template`` with each ``{name}`` replaced by its value, URL-quoted (``/`` too)."""
    return template.format(**{name: quote(str(value), safe="") for name, value in values.items()})


class HttpOrderBook:
    """:class:`~core.shop.OrderBook` over the company's order API."""

    def __init__(self, settings: HttpOrderSettings, *, retry_wait_s: float = 0.2) -> None:
        if not settings.order_url:
            raise ConfigError("the HTTP order connector needs order_url")
        self._settings = settings
        self._order_url = settings.order_url
        self._source = JsonSource(settings, "order", retry_wait_s=retry_wait_s)

    async def find(self, order_no: str, customer_id: str) -> Order | None:
        url = fill(self._order_url, order_no=order_no, customer_id=customer_id)
        body = await self._source.get(url)
        record = dotted(body, self._settings.order_path) if body is not None else None
        if record is None:
            return None
        orders = self._own([record], customer_id)
        return orders[0] if orders else None

    async def recent(self, customer_id: str, limit: int = 20) -> list[Order]:
        if not self._settings.recent_url:
            return []
        body = await self._source.get(
            fill(self._settings.recent_url, customer_id=customer_id, limit=limit)
        )
        records = dotted(body, self._settings.list_path) if body is not None else []
        if not isinstance(records, list):
            raise ConnectorError("the order service's list is not a JSON array (list_path?)")
        return self._own(records, customer_id)[:limit]

    def _own(self, records: list[Any], customer_id: str) -> list[Order]:
        """The records as orders, without any that names another customer."""
        fields, items = self._settings.fields, self._settings.item_fields
        orders = [
            order_from(pick(record, ORDER_FIELDS, fields), customer_id, items) for record in records
        ]
        return own_orders(orders, customer_id)

    async def close(self) -> None:
        await self._source.close()


class HttpCatalogue:
    """:class:`~core.shop.Catalogue` over the company's product API."""

    def __init__(self, settings: HttpCatalogueSettings, *, retry_wait_s: float = 0.2) -> None:
        if not settings.url:
            raise ConfigError("the HTTP product connector needs url")
        self._settings = settings
        self._url = settings.url
        self._source = JsonSource(settings, "product", retry_wait_s=retry_wait_s)

    async def products(
        self, category: str | None = None, max_price: Decimal | None = None
    ) -> list[Product]:
        params = {"category": category} if category else {}
        if max_price is not None:
            params["max_price"] = str(max_price)
        body = await self._source.get(self._url, params or None)
        records = dotted(body, self._settings.list_path) if body is not None else []
        if not isinstance(records, list):
            raise ConnectorError("the product service's list is not a JSON array (list_path?)")
        found = [product_from(pick(r, PRODUCT_FIELDS, self._settings.fields)) for r in records]
        return matching(found, category, max_price)

    async def close(self) -> None:
        await self._source.close()
