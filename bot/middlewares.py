"""Middlewares of the one web server: CORS/Origin checks and clear 400s for bad input.

Also :func:`read_form`, the one way handlers read an HTML form from a stranger.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web
from aiohttp.typedefs import Middleware
from multidict import MultiDict

from bot.adapters.web.origins import OriginPolicy
from core.config.web import WebSettings
from core.errors import InputError
from core.untrusted import storable

log = structlog.get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def web_middlewares(web_settings: WebSettings) -> list[Middleware]:
    """Outermost first: bad input becomes 400, then the Origin policy of the chat endpoints."""
    return [input_errors, OriginPolicy(web_settings.allowed_origins).middleware()]


@web.middleware
async def input_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """An :class:`InputError` that escaped a handler is the client's mistake: 400, not 500."""
    try:
        return await handler(request)
    except InputError as error:
        log.info("web.bad_request", path=request.path, error=str(error)[:200])
        return web.json_response({"error": str(error)}, status=400)


async def read_form(request: web.Request) -> MultiDict[str]:
    """The request's form fields as storable text (files are ignored).

    Raises:
        InputError: when the body is not a readable form (broken multipart, invalid UTF-8).
    """
    try:
        form = await request.post()
    except (ValueError, UnicodeDecodeError, AssertionError, LookupError) as e:
        raise InputError("the form could not be read") from e
    fields: MultiDict[str] = MultiDict()
    for name, value in form.items():
        if isinstance(value, str):
            fields.add(storable(name), storable(value))
    return fields
