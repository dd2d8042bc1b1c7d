"""Running an aiohttp application on an ephemeral loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from aiohttp import web


class LocalServer:
    """An aiohttp app served on ``127.0.0.1`` at a free port."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self._runner = web.AppRunner(app, access_log=None)
        self.url = ""

    async def start(self) -> str:
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self.url

    async def stop(self) -> None:
        await self._runner.cleanup()


@asynccontextmanager
async def serve_routes(routes: Sequence[web.RouteDef]) -> AsyncIterator[str]:
    """Serve ``routes`` (an adapter's webhook routes) and yield the base URL."""
    app = web.Application()
    app.add_routes(routes)
    server = LocalServer(app)
    await server.start()
    try:
        yield server.url
    finally:
        await server.stop()
