"""Which language a staff page request gets; the pages' texts are ``staff.*`` in the catalog.

The language is decided once per request: ``?lang=<code>`` (remembered in a cookie), then the
cookie, then the browser's ``Accept-Language``; English when nothing matches. Any language the
text catalog has (``bot/texts/<lang>.yaml`` or the deployment's ``texts.dir``) can be chosen.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from bot.texts import current_catalog, say
from core.text import Language

StaffLanguage = Language
LANG_COOKIE = "kefu_staff_lang"
PREFIX = "staff."


def text(language: StaffLanguage, key: str, **values: object) -> str:
    """The text ``staff.<key>`` in ``language`` (English when missing), with ``{name}`` filled;
    the key itself when no language has it."""
    if not current_catalog().has(PREFIX + key):
        return key
    return say(PREFIX + key, language, **values)


def has_text(key: str) -> bool:
    """Whether the catalog has ``staff.<key>``."""
    return current_catalog().has(PREFIX + key)


def catalog(language: StaffLanguage, prefixes: tuple[str, ...]) -> dict[str, str]:
    """The texts whose keys start with one of ``prefixes`` (for the workspace's script), with
    their placeholders left for the script to fill."""
    texts = current_catalog().templates(PREFIX, language)
    return {k: v for k, v in texts.items() if k.startswith(prefixes)}


def _languages() -> tuple[str, ...]:
    return current_catalog().languages


def from_accept_language(header: str) -> StaffLanguage | None:
    """The first catalog language in ``Accept-Language`` by weight (``zh-CN,zh;q=0.9``)."""
    weighted: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        weighted.append((-weight, position, tag.strip().lower()))
    for weight, _, tag in sorted(weighted):
        primary = tag.split("-")[0]
        if weight < 0 and primary in _languages():
            return primary
    return None


def choose_language(request: web.Request) -> StaffLanguage:
    """The staff member's language for this request (see the module docstring)."""
    for candidate in (request.query.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate is not None and candidate in _languages():
            return candidate
    return from_accept_language(request.headers.get("Accept-Language", "")) or "en"


def remember_language(request: web.Request, response: web.StreamResponse) -> None:
    """Keeps a ``?lang=`` switch for the next pages."""
    chosen = request.query.get("lang")
    if chosen in _languages():
        response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 86400, samesite="Lax", path="/")


def labels(language: StaffLanguage) -> Mapping[str, str]:
    """Every staff text in ``language``, placeholders left in."""
    return current_catalog().templates(PREFIX, language)
