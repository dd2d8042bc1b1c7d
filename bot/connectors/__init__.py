"""Connectors to a company's own order and product systems, chosen in settings (``KEFU_SHOP__``).

``demo`` reads the bundled shop's tables (``bot/demo/shop.py``), ``sql`` the company's
database with its own queries (``sql.py``), ``http`` its JSON API (``http.py``). Dialogue code
sees only :class:`core.shop.OrderBook` and :class:`core.shop.Catalogue`.
"""

from __future__ import annotations

from bot.connectors.http import HttpCatalogue, HttpOrderBook
from bot.connectors.sql import SqlCatalogue, SqlOrderBook
from bot.demo.shop import DemoCatalogue, DemoOrderBook
from core.config.shop import CatalogueSourceSettings, OrderSourceSettings
from core.shop import Catalogue, OrderBook
from core.storage import Database


def make_order_book(settings: OrderSourceSettings, db: Database) -> OrderBook:
    """The configured order system; ``db`` holds the demo tables.

    Raises:
        ConfigError: the chosen backend lacks its URL.
    """
    if settings.backend == "sql":
        return SqlOrderBook(settings.sql)
    if settings.backend == "http":
        return HttpOrderBook(settings.http)
    return DemoOrderBook(db)


def make_catalogue(settings: CatalogueSourceSettings, db: Database) -> Catalogue:
    """The configured product system; ``db`` holds the demo tables.

    Raises:
        ConfigError: the chosen backend lacks its URL.
    """
    if settings.backend == "sql":
        return SqlCatalogue(settings.sql)
    if settings.backend == "http":
        return HttpCatalogue(settings.http)
    return DemoCatalogue(db)
