"""An OpenAPI 3 document of every HTTP route, built from the routes actually registered.

A route is described next to its handler, in one of two ways:

- a docstring: the first paragraph is the summary, the rest the description;
- ``@operation(summary, request=..., responses=...)`` when the route has a JSON body or a
  response worth a schema (the REST channel).

Handlers wrapped by another function keep their docstring with ``functools.wraps``.
:func:`undocumented` lists the routes with neither; a test keeps that list empty.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

from bot.staff.render import render_page

OPENAPI_ATTRIBUTE = "__openapi__"
SKIPPED_METHODS = frozenset({"HEAD", "OPTIONS", "*"})
TAGS: tuple[tuple[str, str], ...] = (
    ("/webhooks/rest", "REST channel"),
    ("/webhooks", "Platform webhooks"),
    ("/agent", "Agent workspace"),
    ("/admin", "Admin"),
    ("/ws", "Web chat"),
    ("/", "Operations"),
)
_PARAMETER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\}")

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(slots=True, frozen=True)
class Operation:
    """What the document says about one route."""

    summary: str
    description: str = ""
    request: Mapping[str, Any] | None = None
    """JSON schema of the request body."""
    responses: Mapping[str, Any] = field(default_factory=dict)
    """``{"200": {"description": ..., "schema": {...}}}``."""
    query: Mapping[str, str] = field(default_factory=dict)
    """Query parameters: name -> description."""


def operation(
    summary: str,
    *,
    description: str = "",
    request: Mapping[str, Any] | None = None,
    responses: Mapping[str, Any] | None = None,
    query: Mapping[str, str] | None = None,
) -> Callable[[F], F]:
    """Describes a route handler for ``/openapi.json`` (instead of, or beyond, its docstring)."""

    def mark(handler: F) -> F:
        described = Operation(summary, description, request, responses or {}, query or {})
        setattr(handler, OPENAPI_ATTRIBUTE, described)
        return handler

    return mark


def describe(handler: Callable[..., Any]) -> Operation | None:
    """The handler's :class:`Operation`, from ``@operation`` or its docstring; None if neither."""
    described = getattr(handler, OPENAPI_ATTRIBUTE, None)
    if isinstance(described, Operation):
        return described
    doc = inspect.getdoc(handler)
    if not doc or inspect.isclass(handler):
        return None
    summary, _, rest = doc.strip().partition("\n\n")
    return Operation(" ".join(summary.split()), rest.strip())


def openapi_path(path: str) -> str:
    """``/admin/review/{candidate_id:\\d+}/approve`` -> ``/admin/review/{candidate_id}/approve``."""
    return _PARAMETER.sub(lambda m: "{" + m.group(1) + "}", path)


def registered_routes(app: web.Application) -> Iterable[tuple[str, str, Callable[..., Any]]]:
    """(method, path, handler) of every route a client can call (HEAD and OPTIONS left out)."""
    for route in app.router.routes():
        if route.method in SKIPPED_METHODS or route.resource is None:
            continue
        info = route.resource.get_info()
        path = info.get("path") or info.get("formatter") or info.get("prefix")
        if path:
            yield route.method, str(path), route.handler


def undocumented(app: web.Application) -> list[str]:
    """``"GET /path"`` of each route without a description."""
    return [
        f"{method} {path}"
        for method, path, handler in registered_routes(app)
        if describe(handler) is None
    ]


def openapi_document(
    app: web.Application, *, title: str = "Kefu", version: str = "0.1.0"
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``app``'s routes."""
    paths: dict[str, dict[str, Any]] = {}
    for method, path, handler in registered_routes(app):
        described = describe(handler) or Operation("(not described)")
        paths.setdefault(openapi_path(path), {})[method.lower()] = _operation_json(
            method, path, described
        )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "Every HTTP route of one Kefu server: the REST channel, the web "
            "chat, platform webhooks, the agent workspace API, the admin pages and the "
            "operator endpoints.",
        },
        "tags": [{"name": name} for _, name in TAGS],
        "paths": dict(sorted(paths.items())),
    }


def _operation_json(method: str, path: str, described: Operation) -> dict[str, Any]:
    result: dict[str, Any] = {
        "summary": described.summary,
        "operationId": _operation_id(method, path),
        "tags": [_tag(path)],
        "responses": _responses(described.responses),
    }
    if described.description:
        result["description"] = described.description
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PARAMETER.findall(path)
    ] + [
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": text,
            "schema": {"type": "string"},
        }
        for name, text in described.query.items()
    ]
    if parameters:
        result["parameters"] = parameters
    if described.request is not None:
        result["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": dict(described.request)}},
        }
    return result


def _responses(responses: Mapping[str, Any]) -> dict[str, Any]:
    if not responses:
        return {"200": {"description": "OK"}}
    out: dict[str, Any] = {}
    for status, spec in responses.items():
        entry: dict[str, Any] = {"description": spec.get("description", "")}
        if "schema" in spec:
            entry["content"] = {"application/json": {"schema": spec["schema"]}}
        out[str(status)] = entry
    return out


def _tag(path: str) -> str:
    return next(name for prefix, name in TAGS if path.startswith(prefix))


def _operation_id(method: str, path: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", openapi_path(path)) or ["root"]
    return method.lower() + "_" + "_".join(words)


async def _openapi_json(request: web.Request) -> web.Response:
    """This OpenAPI 3 document (JSON).

    Generated from the routes the server actually registered, so it lists exactly what this
    deployment serves (a platform's webhook appears only when that platform is enabled).
    """
    return web.json_response(openapi_document(request.app))


async def _docs_page(request: web.Request) -> web.Response:
    """The API documentation as a readable page (built from /openapi.json)."""
    document = openapi_document(request.app)
    html = render_page(request, "api_docs.html", document=document, tags=[n for _, n in TAGS])
    return web.Response(text=html, content_type="text/html")


def api_docs_routes() -> list[web.RouteDef]:
    """``GET /openapi.json`` and ``GET /docs``."""
    return [web.get("/openapi.json", _openapi_json), web.get("/docs", _docs_page)]
