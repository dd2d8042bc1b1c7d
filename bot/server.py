"""``kefu serve``: run the bot with every enabled channel on one aiohttp server."""

from __future__ import annotations

import asyncio
import time

import structlog
from aiohttp import web

from bot.app import Kefu
from bot.observability.startup import log_startup
from core.settings import KefuSettings

log = structlog.get_logger(__name__)


async def serve(settings: KefuSettings, *, ready: asyncio.Event | None = None) -> None:
    """Runs until cancelled (Ctrl-C)."""
    started = time.perf_counter()
    kefu = await Kefu.create(settings)
    log_startup(settings)
    runner = web.AppRunner(kefu.web_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.server.host, settings.server.port)
    try:
        await site.start()
        await kefu.start_adapters()
        url = f"http://{settings.server.host}:{settings.server.port}/"
        log.info("server.ready", url=url, seconds=round(time.perf_counter() - started, 2))
        print(
            f"\nKefu is ready. Open {url} to chat, or POST to {url}webhooks/rest/webhook",
            flush=True,
        )
        if ready:
            ready.set()
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await kefu.close()
