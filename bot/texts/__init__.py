"""Every text customers and staff read, from one catalog (see :mod:`bot.texts.catalog`)."""

from bot.texts.buttons import human_button
from bot.texts.catalog import Catalog, current_catalog, say, use_catalog

__all__ = ["Catalog", "current_catalog", "human_button", "say", "use_catalog"]
