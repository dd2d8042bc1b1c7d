"""``GET /metrics`` in the Prometheus text format, for a token or a trusted network only."""

from __future__ import annotations

import hmac
import ipaddress

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from core.config.observability import MetricsSettings
from core.telemetry.metrics import REGISTRY
from core.telemetry.sources import GaugeSources

log = structlog.get_logger(__name__)


def metrics_routes(settings: MetricsSettings, sources: GaugeSources) -> list[web.RouteDef]:
    """The ``/metrics`` route, or none when metrics are off."""
    if not settings.enabled:
        return []
    return [web.get("/metrics", MetricsEndpoint(settings, sources).scrape)]


class MetricsEndpoint:
    def __init__(self, settings: MetricsSettings, sources: GaugeSources) -> None:
        self._token = settings.token.get_secret_value() if settings.token else ""
        self._networks = [ipaddress.ip_network(n, strict=False) for n in settings.trusted_networks]
        self._sources = sources

    async def scrape(self, request: web.Request) -> web.Response:
        """Prometheus metrics of this worker.

        Messages by channel and outcome, turn and step latency, retrieval latency, LLM calls,
        latency, time to first token, tokens, errors and fallbacks by model, handoff queue
        length and wait, outbox pending and failed, knowledge chunks and generation.
        Needs `Authorization: Bearer <metrics token>` when a token is set, else a client in
        the trusted networks.
        """
        if not self._allowed(request):
            log.warning("metrics.refused", address=request.remote)
            return web.Response(status=403, text="metrics: token or trusted network required\n")
        await self._sources.refresh()
        return web.Response(
            body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    def _allowed(self, request: web.Request) -> bool:
        if self._token:
            given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            return hmac.compare_digest(given.encode(), self._token.encode())
        try:
            address = ipaddress.ip_address(request.remote or "")
        except ValueError:
            return False
        return any(address in network for network in self._networks)
