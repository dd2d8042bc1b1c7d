"""``kefu serve``: every channel on one aiohttp server, listening from the first moment.

``/healthz`` answers at once (the process is alive); ``/readyz`` is 503 ``starting`` until the
knowledge base and models are loaded, 200 ``ready`` then, and 503 ``draining`` after SIGTERM
or Ctrl-C, when the worker stops taking messages, finishes the turns in flight, sends what is
due and exits 0 within ``server.shutdown_grace_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time

import structlog
from aiohttp import web
from sqlalchemy import text

from bot.app import Kefu
from bot.middlewares import web_middlewares
from bot.observability.startup import log_startup
from core.settings import KefuSettings

log = structlog.get_logger(__name__)

CHECK_TIMEOUT_S = 2.0


class Gate:
    """Routes requests to the bot once it is loaded; until then, and while draining, only
    the health endpoints answer."""

    def __init__(self) -> None:
        self.state = "starting"
        self.kefu: Kefu | None = None
        self._inner: web.Application | None = None

    def open(self, kefu: Kefu) -> None:
        inner = kefu.web_app()
        inner.router.freeze()
        self.kefu = kefu
        self._inner = inner

    async def health(self, request: web.Request) -> web.Response:
        """Liveness: the process is up and serving (answers from the first moment)."""
        return web.json_response({"status": "ok"})

    async def ready(self, request: web.Request) -> web.Response:
        """Readiness: 200 once knowledge and models are loaded and the database and vector
        store answer; 503 with ``starting``, ``draining`` or the failed checks otherwise."""
        if self.state != "ready" or self.kefu is None:
            return web.json_response({"status": self.state}, status=503)
        failed = await _failed_checks(self.kefu)
        if failed:
            return web.json_response({"status": "degraded", "failed": failed}, status=503)
        return web.json_response({"status": "ready"})

    async def forward(self, request: web.Request) -> web.StreamResponse:
        if self._inner is None:
            return web.json_response({"error": "starting, try again shortly"}, status=503)
        match = await self._inner.router.resolve(request)
        match.add_app(self._inner)  # request.app is then the bot's app (its routes, its docs)
        match.freeze()
        request._match_info = match  # what aiohttp's own dispatch does for a route
        request._cache.pop("match_info", None)  # a middleware may have read the gate's own
        response: web.StreamResponse = await match.handler(request)
        return response

    async def close_sockets(self, app: web.Application) -> None:
        if self.kefu is not None:
            await self.kefu.close_sockets()


async def serve(settings: KefuSettings, *, ready: asyncio.Event | None = None) -> None:
    """Runs until SIGTERM or Ctrl-C, then drains and returns."""
    started = time.perf_counter()
    gate = Gate()
    app = web.Application(
        client_max_size=settings.server.max_request_bytes,
        middlewares=web_middlewares(settings.web),
    )
    app.router.add_get("/healthz", gate.health)
    app.router.add_get("/readyz", gate.ready)
    app.router.add_route("*", "/{tail:.*}", gate.forward)
    app.on_shutdown.append(gate.close_sockets)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5)
    await runner.setup()
    site = web.TCPSite(runner, settings.server.host, settings.server.port)
    await site.start()
    stop = _stop_on_signals()
    kefu: Kefu | None = None
    try:
        kefu = await Kefu.create(settings)
        log_startup(settings)
        gate.open(kefu)
        await kefu.start()
        gate.state = "ready"
        _announce(settings, started)
        if ready:
            ready.set()
        await stop.wait()
        gate.state = "draining"
        log.info("server.draining", grace_s=settings.server.shutdown_grace_s)
        await kefu.drain(settings.server.shutdown_grace_s)
    finally:
        await runner.cleanup()
        if kefu is not None:
            await kefu.close()
        log.info("server.stopped")


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop.set)
    return stop


def _announce(settings: KefuSettings, started: float) -> None:
    url = f"http://{settings.server.host}:{settings.server.port}/"
    log.info("server.ready", url=url, seconds=round(time.perf_counter() - started, 2))
    print(
        f"\nKefu is ready. Open {url} to chat, or POST to {url}webhooks/rest/webhook",
        flush=True,
    )


async def _failed_checks(kefu: Kefu) -> list[str]:
    failed = []
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S), kefu.db.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        failed.append("database")
    try:
        await asyncio.wait_for(asyncio.to_thread(kefu.knowledge.check_store), CHECK_TIMEOUT_S)
    except Exception:
        failed.append("knowledge")
    return failed
