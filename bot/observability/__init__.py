"""The operator's HTTP endpoints: ``/metrics`` (Prometheus) and ``/openapi.json`` with ``/docs``."""

from bot.observability.api_docs import api_docs_routes, operation
from bot.observability.metrics_route import metrics_routes

__all__ = ["api_docs_routes", "metrics_routes", "operation"]
