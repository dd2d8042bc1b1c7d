"""``/openapi.json`` describes every route the server actually registered."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.app import Kefu
from bot.observability.api_docs import openapi_path, undocumented

Client = TestClient[Any, Any]


def test_every_registered_route_has_a_description(kefu: Kefu) -> None:
    assert undocumented(kefu.web_app()) == []


def test_a_route_without_a_description_is_reported() -> None:
    async def bare(request: web.Request) -> web.Response:
        return web.Response()

    async def described(request: web.Request) -> web.Response:
        """Says hello."""
        return web.Response()

    app = web.Application()
    app.add_routes([web.get("/bare", bare), web.post("/described", described)])
    assert undocumented(app) == ["GET /bare"]


async def test_the_document_lists_the_channels_workspace_and_admin(client: Client) -> None:
    response = await client.get("/openapi.json")
    assert response.status == 200
    document = await response.json()
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    webhook = paths["/webhooks/rest/webhook"]["post"]
    schema = webhook["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["sender", "message"]
    assert webhook["tags"] == ["REST channel"]
    assert "200" in webhook["responses"]
    claim = paths["/agent/api/handoffs/{id}/claim"]["post"]
    assert claim["parameters"][0]["name"] == "id"
    assert "/admin/review/{candidate_id}/approve" in paths
    assert {"/metrics", "/healthz", "/openapi.json", "/docs"} <= paths.keys()
    assert all(op["summary"] for ops in paths.values() for op in ops.values())


async def test_the_docs_page_shows_the_routes(client: Client) -> None:
    page = await (await client.get("/docs", headers={"Accept-Language": "zh-CN"})).text()
    assert "Kefu HTTP 接口" in page
    assert "/webhooks/rest/webhook" in page


def test_aiohttp_patterns_become_openapi_parameters() -> None:
    assert openapi_path(r"/admin/review/{candidate_id:\d+}/approve") == (
        "/admin/review/{candidate_id}/approve"
    )
