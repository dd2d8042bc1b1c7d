"""The embeddable widget in Chromium: a shop's page on another origin (a second loopback port)
loads one <script> tag and chats with the bot; a signed-in shop customer is recognised; a
site that is not allowed cannot connect."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass
from html import escape

import pytest
from aiohttp import web
from playwright.async_api import Page, expect
from pydantic import SecretStr

from core.settings import KefuSettings
from tests.bot.conftest import Client
from tests.browser import needs_chromium
from tests.fakes.server import LocalServer

pytestmark = needs_chromium
SECRET = "shop-identity-secret"


@dataclass
class Shop:
    """A host site: serves ``/`` with the widget's script tag pointing at the bot."""

    url: str = ""
    bot: str = ""
    attributes: str = ""

    async def page(self, request: web.Request) -> web.Response:
        tag = f'<script src="{escape(self.bot)}/widget.js" {self.attributes}></script>'
        body = f"<!doctype html><title>Shop</title><h1>Xinghe shop</h1>{tag}"
        return web.Response(text=body, content_type="text/html")


async def open_shop() -> tuple[Shop, LocalServer]:
    shop = Shop()
    app = web.Application()
    app.router.add_get("/", shop.page)
    server = LocalServer(app)
    shop.url = await server.start()
    return shop, server


@pytest.fixture
async def shop() -> AsyncIterator[Shop]:
    shop, server = await open_shop()
    yield shop
    await server.stop()


@pytest.fixture
def settings(settings: KefuSettings, shop: Shop) -> KefuSettings:
    settings.web.allowed_origins = [shop.url]
    settings.web.identity_secret = SecretStr(SECRET)
    return settings


def bot_url(client: Client) -> str:
    return str(client.make_url("/").origin()).rstrip("/")


async def test_a_visitor_on_another_site_chats_through_the_widget(
    client: Client, shop: Shop, page: Page
) -> None:
    shop.bot, shop.attributes = bot_url(client), 'data-lang="en"'
    await page.goto(shop.url)
    await page.click("#launcher")
    await expect(page.locator("#panel")).to_be_visible()
    await expect(page.locator("#title")).to_have_text("Support")
    await page.fill("#text", "How long is the warranty?")
    await page.press("#text", "Enter")
    answer = page.locator(".msg.bot").last
    await expect(answer).to_contain_text("warranty")
    await expect(answer.locator(".sources")).not_to_be_empty()
    token = await page.evaluate("Object.keys(localStorage).find(k => k.startsWith('kefu-token'))")
    assert token is not None  # the visitor keeps the conversation after a reload


async def test_the_shop_passes_its_signed_in_customer(
    client: Client, shop: Shop, page: Page
) -> None:
    user_hash = hmac.new(SECRET.encode(), b"demo", hashlib.sha256).hexdigest()
    shop.bot = bot_url(client)
    shop.attributes = (
        f'data-lang="zh" data-open="true" data-user-id="demo" data-user-hash="{user_hash}"'
    )
    await page.goto(shop.url)
    await expect(page.locator("#title")).to_have_text("在线客服")
    await page.fill("#text", "我的订单到哪了")
    await page.press("#text", "Enter")
    await expect(page.locator(".msg.bot").last).to_contain_text("订单号")
    await page.fill("#text", "DD20241023")
    await page.press("#text", "Enter")
    await expect(page.locator(".msg.bot").last).to_contain_text("DD20241023")
    await expect(page.locator(".msg.bot").last).to_contain_text("已送达")


async def test_a_site_that_is_not_allowed_cannot_connect(client: Client, page: Page) -> None:
    stranger, server = await open_shop()  # another port: another origin, not in the list
    try:
        stranger.bot, stranger.attributes = bot_url(client), 'data-lang="en" data-open="true"'
        await page.goto(stranger.url)
        await expect(page.locator(".msg.bot").last).to_have_text("Disconnected, reconnecting…")
        await page.fill("#text", "How long is the warranty?")
        await page.press("#text", "Enter")
        await expect(page.locator(".msg.me")).to_have_count(0)  # nothing could be sent
    finally:
        await server.stop()
