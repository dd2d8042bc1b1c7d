"""Orders and products read from the company's own database with its own SQL.

The queries come from settings; Kefu passes the order number, the customer id and the other
values only as bind parameters (``:order_no``), never by formatting text into the query, so
nothing a customer writes can change what a query does. Every query runs in a transaction
that is rolled back, read-only where the database can enforce it (SQLite ``query_only``,
PostgreSQL ``SET TRANSACTION READ ONLY``); a database user with only SELECT rights is still
the right setup. Columns are read by name (:mod:`bot.connectors.records`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import TextClause, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from bot.connectors.records import order_from, own_orders, product_from
from core.config.shop import SqlCatalogueSettings, SqlOrderSettings, SqlSourceSettings
from core.errors import ConfigError, ConnectorError
from core.shop import Order, Product, matching

log = structlog.get_logger(__name__)


class ReadOnlyQueries:
    """Runs configured SELECTs on one database, read-only, within a time limit."""

    def __init__(self, settings: SqlSourceSettings, system: str) -> None:
        if settings.url is None:
            raise ConfigError(f"the {system} SQL connector needs a database URL")
        # No connection yet: the engine connects on the first query.
        self._engine = create_async_engine(settings.url.get_secret_value(), pool_pre_ping=True)
        self._timeout_s = settings.timeout_s
        self._system = system
        self._in_flight: set[asyncio.Task[list[dict[str, Any]]]] = set()

    async def rows(self, query: str, values: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The rows of ``query`` as ``{column: value}``, with ``values`` bound by name.

        Raises:
            ConnectorError: the database failed, refused or took longer than the time limit.
        """
        statement = text(query)
        bound = {name: values.get(name) for name in statement.compile().params}
        # A query past the time limit is left to finish on its own (and to close its
        # connection) rather than cancelled half-way: aiosqlite cannot stop one, and a
        # connection abandoned mid-open is never closed.
        query_task = asyncio.create_task(self._fetch(statement, bound))
        self._in_flight.add(query_task)
        query_task.add_done_callback(self._in_flight.discard)
        query_task.add_done_callback(_settled)
        try:
            return await asyncio.wait_for(asyncio.shield(query_task), self._timeout_s)
        except (SQLAlchemyError, OSError, TimeoutError) as e:
            log.warning("shop.sql.failed", system=self._system, error=type(e).__name__)
            raise ConnectorError(f"the {self._system} database failed: {type(e).__name__}") from e

    async def _fetch(self, statement: TextClause, bound: dict[str, Any]) -> list[dict[str, Any]]:
        async with self._engine.connect() as connection:
            await _read_only(connection, self._timeout_s)
            try:
                result = await connection.execute(statement, bound)
                return [dict(row._mapping) for row in result]
            finally:
                await connection.rollback()

    async def close(self) -> None:
        """Lets the queries still running finish (within their time limit), then closes."""
        if self._in_flight:
            await asyncio.wait(self._in_flight, timeout=self._timeout_s)
        await self._engine.dispose()


def _settled(task: asyncio.Task[list[dict[str, Any]]]) -> None:
    """Reads a finished query's outcome, so one nobody waited for any more is not reported
    as an exception never retrieved (the caller already had its ConnectorError)."""
    if not task.cancelled():
        task.exception()


async def _read_only(connection: AsyncConnection, timeout_s: float) -> None:
    dialect = connection.dialect.name
    if dialect == "sqlite":
        await connection.exec_driver_sql("PRAGMA query_only = ON")
    elif dialect == "postgresql":
        await connection.exec_driver_sql("SET TRANSACTION READ ONLY")
        # The server stops a slow query itself. (aiosqlite cannot stop one: on SQLite the
        # time limit is only noticed when the query ends.)
        await connection.exec_driver_sql(f"SET LOCAL statement_timeout = {int(timeout_s * 1000)}")


class SqlOrderBook:
    """:class:`~core.shop.OrderBook` over ``find_query`` and ``recent_query``."""

    def __init__(self, settings: SqlOrderSettings) -> None:
        self._settings = settings
        self._queries = ReadOnlyQueries(settings, "order")

    async def find(self, order_no: str, customer_id: str) -> Order | None:
        rows = await self._queries.rows(
            self._settings.find_query, {"order_no": order_no, "customer_id": customer_id}
        )
        orders = own_orders([order_from(row, customer_id) for row in rows], customer_id)
        return orders[0] if orders else None

    async def recent(self, customer_id: str, limit: int = 20) -> list[Order]:
        rows = await self._queries.rows(
            self._settings.recent_query, {"customer_id": customer_id, "limit": limit}
        )
        return own_orders([order_from(row, customer_id) for row in rows], customer_id)[:limit]

    async def close(self) -> None:
        await self._queries.close()


class SqlCatalogue:
    """:class:`~core.shop.Catalogue` over ``query``."""

    def __init__(self, settings: SqlCatalogueSettings) -> None:
        self._settings = settings
        self._queries = ReadOnlyQueries(settings, "product")

    async def products(
        self, category: str | None = None, max_price: Decimal | None = None
    ) -> list[Product]:
        price = float(max_price) if max_price is not None else None
        rows = await self._queries.rows(
            self._settings.query, {"category": category, "max_price": price}
        )
        return matching([product_from(row) for row in rows], category, max_price)

    async def close(self) -> None:
        await self._queries.close()
