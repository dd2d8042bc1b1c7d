"""The staff pages that need more than one template: the agent workspace."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from bot.staff.i18n import catalog, choose_language
from bot.staff.render import page_response

WORKSPACE_TEXT_PREFIXES = (
    "workspace.",
    "system.",
    "role.",
    "reason.",
    "summary.",
    "entity.",
    "intent.",
)


def workspace_page(request: web.Request, timezone: str, headers: Mapping[str, str]) -> web.Response:
    """The agent workspace in the agent's language; its script reads the texts it needs
    from a JSON block in the page (the CSP allows no inline script)."""
    texts = catalog(choose_language(request), WORKSPACE_TEXT_PREFIXES)
    return page_response(request, "agent.html", timezone=timezone, headers=headers, texts=texts)
