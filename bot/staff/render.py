"""Jinja2 rendering of the staff pages, in the request's language and the configured time zone."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from bot.staff.i18n import StaffLanguage, choose_language, labels, remember_language, text

TEMPLATES = Path(__file__).parent / "templates"


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["tojson_script"] = _json_for_script
    return env


def local_time(value: datetime | str | None, zone: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """``value`` (a datetime or ISO string, UTC when naive) as wall-clock time in ``zone``."""
    if value is None or value == "":
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(ZoneInfo(zone)).strftime(fmt)


def render(template: str, language: StaffLanguage, *, timezone: str = "UTC", **context: Any) -> str:
    """The page ``template`` rendered with ``t(key, **values)`` and ``when(datetime)``."""

    def t(key: str, **values: object) -> str:
        return text(language, key, **values)

    def when(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return local_time(value, timezone, fmt)

    return (
        environment()
        .get_template(template)
        .render(
            lang=language,
            html_lang=text(language, "html_lang"),
            t=t,
            when=when,
            timezone=timezone,
            **context,
        )
    )


def render_page(
    request: web.Request, template: str, *, timezone: str = "UTC", **context: Any
) -> str:
    """:func:`render` in the language the request asks for."""
    return render(
        template, choose_language(request), timezone=timezone, path=request.path, **context
    )


def page_response(
    request: web.Request,
    template: str,
    *,
    timezone: str = "UTC",
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> web.Response:
    """An HTML response of ``template``; a ``?lang=`` switch is remembered in a cookie."""
    html = render_page(request, template, timezone=timezone, **context)
    response = web.Response(
        text=html, status=status, content_type="text/html", headers=dict(headers or {})
    )
    remember_language(request, response)
    return response


def _json_for_script(value: Any) -> Markup:
    """JSON safe inside ``<script type="application/json">`` (no ``</script>`` breakout)."""
    escaped = (
        json.dumps(value, ensure_ascii=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )
    return Markup(escaped)


__all__ = ["labels", "local_time", "page_response", "render", "render_page"]
