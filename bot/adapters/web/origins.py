"""Which other sites' pages may talk to the bot: CORS for REST, the Origin check for ``/ws``.

Browsers send ``Origin`` on cross-site requests and on every WebSocket handshake. A request
from the server's own origin or one listed in ``web.allowed_origins`` is served (with CORS
headers for the listed ones); any other site is refused with 403 before anything runs.
Clients that send no ``Origin`` (servers, curl) are not browsers and are not affected.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

import structlog
from aiohttp import web
from aiohttp.typedefs import Middleware

from bot.adapters.web.identity import TOKEN_HEADER

log = structlog.get_logger(__name__)

CORS_PATHS = ("/webhooks/rest/",)
ALLOW_HEADERS = f"Content-Type, Authorization, {TOKEN_HEADER}"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class OriginPolicy:
    """Decides whether a browser page at ``Origin`` may use the chat endpoints."""

    def __init__(self, allowed: Iterable[str]) -> None:
        self._allowed = frozenset(origin.rstrip("/").lower() for origin in allowed)

    def allows(self, request: web.Request) -> bool:
        """True for requests without ``Origin``, from the server itself, or from a listed site."""
        origin = request.headers.get("Origin")
        if origin is None:
            return True
        return self.is_own(request, origin) or self.is_listed(origin)

    def is_listed(self, origin: str) -> bool:
        return "*" in self._allowed or origin.rstrip("/").lower() in self._allowed

    @staticmethod
    def is_own(request: web.Request, origin: str) -> bool:
        try:
            netloc = urlsplit(origin).netloc
        except ValueError:
            return False
        return bool(netloc) and netloc.lower() == (request.host or "").lower()

    def middleware(self) -> Middleware:
        """An aiohttp middleware answering preflights and adding CORS headers on REST paths."""

        @web.middleware
        async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
            origin = request.headers.get("Origin")
            if origin is None or not request.path.startswith(CORS_PATHS):
                return await handler(request)
            if not self.allows(request):
                log.warning("web.origin.refused", path=request.path)
                return web.json_response({"error": "this site may not use the chat"}, status=403)
            if request.method == "OPTIONS":
                response: web.StreamResponse = web.Response(status=204)
            else:
                response = await handler(request)
            if self.is_listed(origin):
                _cors_headers(response, origin)
            return response

        return cors


def _cors_headers(response: web.StreamResponse, origin: str) -> None:
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
    response.headers["Access-Control-Expose-Headers"] = TOKEN_HEADER
    response.headers["Access-Control-Max-Age"] = "600"
    response.headers["Vary"] = "Origin"
