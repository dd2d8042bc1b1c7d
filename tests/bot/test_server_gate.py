"""The server's gate: health answers from the first moment, the bot's routes once loaded."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.server import Gate

NAME = web.AppKey("name", str)


class LoadedBot:
    """Stands in for a loaded Kefu: one route with a path parameter, as the workspace has."""

    def web_app(self) -> web.Application:
        async def item(request: web.Request) -> web.Response:
            """One item."""
            return web.json_response({"id": request.match_info["id"], "app": request.app[NAME]})

        app = web.Application()
        app[NAME] = "bot"
        app.router.add_get("/items/{id}", item)
        return app


@web.middleware
async def reads_match_info(request: web.Request, handler: Any) -> web.StreamResponse:
    request.match_info.get("tail")  # as a logging or error middleware might
    response: web.StreamResponse = await handler(request)
    return response


async def test_starting_then_ready_and_routes_keep_their_parameters() -> None:
    gate = Gate()
    app = web.Application(middlewares=[reads_match_info])
    app.router.add_get("/healthz", gate.health)
    app.router.add_route("*", "/{tail:.*}", gate.forward)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        assert (await client.get("/healthz")).status == 200
        starting = await client.get("/items/42")
        assert starting.status == 503

        gate.open(LoadedBot())  # type: ignore[arg-type]
        loaded = await client.get("/items/42")
        missing = await client.get("/nowhere")

        assert (loaded.status, await loaded.json()) == (200, {"id": "42", "app": "bot"})
        assert missing.status == 404
