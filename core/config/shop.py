"""Where orders and products come from (``KEFU_SHOP__...``): the demo tables, a read-only SQL
query on the company's database, or the company's HTTP API."""

from __future__ import annotations

from string import Formatter
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from sqlalchemy import text

Backend = Literal["demo", "sql", "http"]

ORDER_COLUMNS = "order_no, customer_id, status, created_at, items, total, carrier, tracking_no, eta"
PRODUCT_COLUMNS = "sku, name_en, name_zh, category, price, tags, description"


def bind_names(query: str) -> set[str]:
    """The ``:name`` bind parameters of an SQL text."""
    return set(text(query).compile().params)


def _needs_binds(query: str, names: tuple[str, ...]) -> str:
    missing = [name for name in names if name not in bind_names(query)]
    if missing:
        raise ValueError(
            "the query must bind " + ", ".join(f":{name}" for name in missing) + " (Kefu fills "
            "them in; a query without them could return another customer's orders)"
        )
    return query


def _template_fields(template: str | None, required: tuple[str, ...], allowed: set[str]) -> None:
    if template is None:
        return
    fields = {name for _, name, _, _ in Formatter().parse(template) if name is not None}
    unknown = fields - allowed
    if unknown:
        raise ValueError(f"unknown placeholders {sorted(unknown)}; use {sorted(allowed)}")
    missing = [name for name in required if name not in fields]
    if missing:
        raise ValueError(f"the URL must contain {', '.join('{' + m + '}' for m in missing)}")


class SqlSourceSettings(BaseModel):
    url: SecretStr | None = Field(
        default=None,
        description="SQLAlchemy async URL of the company's database, read-only, e.g. "
        "`postgresql+asyncpg://kefu_reader:…@db/shop` or "
        "`sqlite+aiosqlite:///file:/srv/shop.db?mode=ro&uri=true`.",
    )
    timeout_s: float = Field(default=5.0, gt=0, description="Longest wait for one query.")


class SqlOrderSettings(SqlSourceSettings):
    find_query: str = Field(
        default=f"SELECT {ORDER_COLUMNS} FROM orders "
        "WHERE order_no = :order_no AND customer_id = :customer_id",
        description="One order; must bind `:order_no` and `:customer_id`. Columns are read by "
        f"name ({ORDER_COLUMNS}; rename with AS). `items`: a JSON list of SKUs or of "
        '`{"sku", "name_en", "name_zh"}` objects, or SKUs separated by `;`.',
    )
    recent_query: str = Field(
        default=f"SELECT {ORDER_COLUMNS} FROM orders WHERE customer_id = :customer_id "
        "ORDER BY created_at DESC LIMIT :limit",
        description="The customer's orders, newest first; must bind `:customer_id`, may bind "
        "`:limit`.",
    )

    @field_validator("find_query")
    @classmethod
    def _find_binds(cls, query: str) -> str:
        return _needs_binds(query, ("order_no", "customer_id"))

    @field_validator("recent_query")
    @classmethod
    def _recent_binds(cls, query: str) -> str:
        return _needs_binds(query, ("customer_id",))


class SqlCatalogueSettings(SqlSourceSettings):
    query: str = Field(
        default=f"SELECT {PRODUCT_COLUMNS} FROM products ORDER BY sku",
        description=f"Every product, in catalogue order; columns by name ({PRODUCT_COLUMNS}). "
        "`tags`: a JSON list or words separated by `;`. It may bind `:category` and "
        "`:max_price` (NULL when not filtering).",
    )


class HttpSourceSettings(BaseModel):
    auth_header: str = Field(
        default="Authorization", description="Header that carries `auth_value`."
    )
    auth_value: SecretStr | None = Field(
        default=None, description="Its value, e.g. `Bearer <token>`; never logged."
    )
    fields: dict[str, str] = Field(
        default_factory=dict,
        description="Our field -> dotted path in each JSON record, e.g. "
        '`{"status": "state.code", "tracking_no": "shipping.waybill"}`; unnamed fields are '
        "read under their own name.",
    )
    timeout_s: float = Field(default=5.0, gt=0, description="Longest wait for one request.")
    retries: int = Field(
        default=2, ge=0, le=5, description="Extra tries after a 5xx answer or a failed connection."
    )


class HttpOrderSettings(HttpSourceSettings):
    order_url: str | None = Field(
        default=None,
        description="URL template of one order, with `{order_no}` and `{customer_id}` "
        "(URL-quoted by Kefu), e.g. `https://shop.example.com/api/customers/{customer_id}/"
        "orders/{order_no}`. 404 means no such order for this customer.",
    )
    order_path: str = Field(
        default="", description="Dotted path to the order in the response (`data.order`)."
    )
    recent_url: str | None = Field(
        default=None,
        description="URL template of the customer's orders, newest first, with `{customer_id}` "
        "and optionally `{limit}`; unset: recommendations do without purchase history.",
    )
    list_path: str = Field(
        default="", description="Dotted path to the list of orders in that response (`data`)."
    )
    item_fields: dict[str, str] = Field(
        default_factory=dict,
        description="Like `fields`, for each entry of an order's `items` (sku, name_en, "
        "name_zh, or name for both).",
    )

    @field_validator("order_url")
    @classmethod
    def _order_placeholders(cls, url: str | None) -> str | None:
        _template_fields(url, ("order_no", "customer_id"), {"order_no", "customer_id"})
        return url

    @field_validator("recent_url")
    @classmethod
    def _recent_placeholders(cls, url: str | None) -> str | None:
        _template_fields(url, ("customer_id",), {"customer_id", "limit"})
        return url


class HttpCatalogueSettings(HttpSourceSettings):
    url: str | None = Field(
        default=None,
        description="URL of the product list (JSON); asked with `category` and `max_price` "
        "query parameters when filtering.",
    )
    list_path: str = Field(
        default="", description="Dotted path to the list of products in the response."
    )


class OrderSourceSettings(BaseModel):
    backend: Backend = Field(
        default="demo",
        description="demo: the bundled shop's tables; sql: `sql.*` queries on your database; "
        "http: your order API (`http.*`).",
    )
    sql: SqlOrderSettings = Field(default_factory=SqlOrderSettings)
    http: HttpOrderSettings = Field(default_factory=HttpOrderSettings)


class CatalogueSourceSettings(BaseModel):
    backend: Backend = Field(
        default="demo",
        description="demo: the bundled shop's products; sql: `sql.query` on your database; "
        "http: your product API (`http.*`).",
    )
    sql: SqlCatalogueSettings = Field(default_factory=SqlCatalogueSettings)
    http: HttpCatalogueSettings = Field(default_factory=HttpCatalogueSettings)


class ShopSettings(BaseModel):
    orders: OrderSourceSettings = Field(default_factory=OrderSourceSettings)
    catalogue: CatalogueSourceSettings = Field(default_factory=CatalogueSourceSettings)
    seed_demo: bool = Field(
        default=True,
        description="Load the demo catalogue and orders (bot/demo/*.csv) into empty shop tables "
        "when a backend is `demo`.",
    )
