"""End to end in a real browser: a REST customer asks for a human, an agent logs in to
/agent in Chromium, claims, replies, the customer receives it, the agent closes and the
customer is asked for a rating, then talks to the bot again."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient
from playwright.async_api import Page, expect

from bot.app import Kefu
from bot.handoff import HandoffService
from core.events import EventKind
from core.types import ConversationKey
from tests.bot.conftest import ask, pending
from tests.browser import needs_chromium

PASSWORD = "correct horse battery"
CAROL = ConversationKey("rest", "carol", "carol")

pytestmark = needs_chromium
Site = TestClient[Any, Any]


async def test_customer_reaches_an_agent_in_the_browser_and_returns_to_the_bot(
    site: Site, kefu: Kefu, handoff: HandoffService, page: Page
) -> None:
    await handoff.agents.add("alice", password=PASSWORD)
    [queued] = await ask(site, "carol", "转人工")
    handoff_id = queued["custom"]["handoff"]["handoff_id"]
    base = str(site.make_url("/").origin())

    await page.goto(f"{base}/agent")
    await expect(page).to_have_url(re.compile(r"/agent/login$"))
    await page.fill("#name", "alice")
    await page.fill("#password", PASSWORD)
    await page.click("#login")
    await expect(page.locator("#connection")).to_have_text("online")
    await expect(page.locator("#queue")).to_contain_text("carol")

    await page.click(f"#claim-{handoff_id}")
    await expect(page.locator("#transcript")).to_contain_text("转人工")
    await expect(page.locator("#summary")).to_contain_text("asked for a human")
    assert "alice" in (await pending(site, "carol"))[0]["text"]

    assert await ask(site, "carol", "我的耳机左边没声音") == []  # to the agent, not the bot
    await expect(page.locator("#transcript .line.customer").last).to_have_text(
        re.compile("我的耳机左边没声音")
    )

    await page.fill("#message", "您好，请提供订单号，我帮您安排换货。")
    await page.press("#message", "Enter")
    await expect(page.locator("#transcript .line.agent")).to_contain_text("请提供订单号")
    await page.fill("#message", "customer sounds upset")
    await page.click("#note")
    await expect(page.locator("#transcript .line.note")).to_contain_text("upset")
    delivered = [m["text"] for m in await pending(site, "carol")]
    assert delivered == ["您好，请提供订单号，我帮您安排换货。"]  # the note stays internal

    await page.fill("#resolution", "exchange arranged")
    await page.click("#close")
    await expect(page.locator("#banner")).to_contain_text("Closed")
    await expect(page.locator("#mine-count")).to_have_text("0")
    [rating] = await pending(site, "carol")
    assert [b["payload"] for b in rating["buttons"]] == ["1", "2", "3", "4", "5"]

    [thanks] = await ask(site, "carol", "5")
    assert "感谢" in thanks["text"]
    [answer] = await ask(site, "carol", "怎么开发票？")
    assert answer["custom"]["answer_kind"] == "faq"  # the bot answers again
    csat = await kefu.store.events(CAROL, kinds=[EventKind.CSAT])
    assert [e.payload["score"] for e in csat] == [5]
