"""The staff pages in Chromium, in Chinese and in English: the workspace (chosen by the
browser's language, switched by a link), times in the configured zone, the handoff summary as
sentences, the dashboard and the review page. Screenshots are written for a person to look at
(``KEFU_SCREENSHOTS=folder``, default the test's temporary folder)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, Page, expect
from pydantic import SecretStr

from bot.app import Kefu
from bot.handoff import HandoffService
from core.events import EventKind
from core.settings import KefuSettings
from core.types import ConversationKey
from tests.bot.conftest import ask
from tests.browser import STEP_MS, needs_chromium


def _has_cjk_font() -> bool:
    listed = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False)
    return bool(listed.stdout.strip())


needs_cjk_font = pytest.mark.skipif(
    shutil.which("fc-list") is None or not _has_cjk_font(),
    reason="no Chinese font for chromium: run `make browser` (as root)",
)
pytestmark = [needs_chromium, needs_cjk_font]
Site = TestClient[Any, Any]
PASSWORD = "correct horse battery"
ADMIN_TOKEN = "admin-token-for-tests"
ZONE = "Asia/Shanghai"
CAROL = ConversationKey("rest", "carol", "carol")


@pytest.fixture
def settings(settings: KefuSettings) -> KefuSettings:
    settings.feedback.timezone = ZONE
    settings.feedback.admin_token = SecretStr(ADMIN_TOKEN)
    return settings


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("KEFU_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def page_in(chromium: Browser, locale: str) -> Page:
    context = await chromium.new_context(locale=locale, viewport={"width": 1280, "height": 760})
    page = await context.new_page()
    page.set_default_timeout(STEP_MS)
    expect.set_options(timeout=STEP_MS)
    return page


@pytest.fixture
async def zh_page(chromium: Browser) -> AsyncIterator[Page]:
    page = await page_in(chromium, "zh-CN")
    yield page
    await page.context.close()


async def drawn_as_glyphs(page: Page, text: str) -> bool:
    """Whether Chromium draws ``text`` with real glyphs: a character no font has (U+E000) is
    drawn as the same empty box as any other missing glyph."""
    script = """([text, missing]) => {
        const draw = (s) => {
            const canvas = document.createElement("canvas");
            canvas.width = 64; canvas.height = 32;
            const context = canvas.getContext("2d");
            context.font = getComputedStyle(document.body).font;
            context.fillText(s, 2, 24);
            return Array.from(context.getImageData(0, 0, 64, 32).data).join(",");
        };
        const box = draw(missing);
        return [...text].every((c) => draw(c) !== box);
    }"""
    return bool(await page.evaluate(script, [text, "\ue000"]))


async def log_in(page: Page, base: str) -> None:
    await page.goto(f"{base}/agent")
    await page.fill("#name", "alice")
    await page.fill("#password", PASSWORD)
    await page.click("#login")


async def test_the_workspace_in_chinese_with_local_times_and_a_readable_summary(
    site: Site, kefu: Kefu, handoff: HandoffService, zh_page: Page, screenshots: Path
) -> None:
    await handoff.agents.add("alice", password=PASSWORD)
    await ask(site, "carol", "我的订单DD20241101到哪了？")
    [queued] = await ask(site, "carol", "转人工")
    handoff_id = queued["custom"]["handoff"]["handoff_id"]
    base = str(site.make_url("/").origin())
    page = zh_page

    await log_in(page, base)
    await expect(page.locator("#connection")).to_have_text("在线")
    await expect(page.locator(".side h2").first).to_contain_text("排队中")
    await expect(page.locator("#queue")).to_contain_text("要求转人工")
    await page.click(f"#claim-{handoff_id}")
    summary = page.locator("#summary")
    await expect(summary).to_contain_text("客户要求人工客服。")
    await expect(summary).to_contain_text("订单号 DD20241101")
    assert "source" not in await summary.inner_text()  # no raw dump of internal fields
    await expect(page.locator("#transcript .line.customer .who").first).to_have_text("客户")

    # the first line's time, not the last one's: the two messages may straddle a minute
    first, *_ = await kefu.store.events(CAROL, kinds=[EventKind.USER_MESSAGE])
    shanghai = first.created_at.astimezone(ZoneInfo(ZONE)).strftime("%H:%M")
    await expect(page.locator("#transcript .line.customer time").first).to_have_text(shanghai)
    await expect(page.locator("#send")).to_have_text("发送")
    await expect(page.locator("#transcript .line.system").first).to_have_text(
        re.compile("已转人工（要求转人工）")
    )
    assert await drawn_as_glyphs(page, "排队中")  # a CJK font is there: no empty boxes
    shot = screenshots / "workspace-zh.png"
    await page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000

    await page.click("#language-switch a[lang=en]")  # the switch is remembered
    await expect(page.locator(".side h2").first).to_contain_text("Queue")
    await page.goto(f"{base}/agent")
    await expect(page.locator("#placeholder")).to_have_text("Pick a conversation from the queue.")
    await page.click(f"#mine-{handoff_id}")
    await expect(page.locator("#summary")).to_contain_text("The customer asked for a human agent.")
    await page.screenshot(path=str(screenshots / "workspace-en.png"))


async def test_the_dashboard_and_review_pages_in_both_languages(
    site: Site, kefu: Kefu, chromium: Browser, screenshots: Path
) -> None:
    await ask(site, "dora", "怎么开发票？")
    await ask(site, "dora", "明天上海会下雨吗？")
    base = str(site.make_url("/").origin())

    zh = await page_in(chromium, "zh-CN")
    await zh.goto(f"{base}/admin/dashboard?token={ADMIN_TOKEN}")
    await expect(zh.locator("h1")).to_have_text("客服数据看板")
    await expect(zh.locator(".tiles")).to_contain_text("会话数")
    events = await kefu.store.events(ConversationKey("rest", "dora", "dora"))
    last = events[-1].created_at.astimezone(ZoneInfo(ZONE)).strftime("%Y-%m-%d %H:%M")
    await expect(zh.locator("main .muted").first).to_contain_text(f"最近事件 {last}")
    await expect(zh.locator("main .muted").first).to_contain_text(ZONE)
    await zh.screenshot(path=str(screenshots / "dashboard-zh.png"), full_page=True)
    await zh.goto(f"{base}/admin/review")
    await expect(zh.locator("h1")).to_contain_text("待审核答案")
    await zh.context.close()

    en = await page_in(chromium, "en-US")
    await en.goto(f"{base}/admin/review?token={ADMIN_TOKEN}")
    await expect(en.locator("h1")).to_have_text(re.compile(r"Candidate answers \(\d+ pending\)"))
    bar = en.locator("header.bar")
    assert await bar.evaluate("e => getComputedStyle(e).display") == "flex"  # the workspace bar
    await en.goto(f"{base}/admin/dashboard")
    await expect(en.locator("h1")).to_have_text("Kefu dashboard")
    await en.screenshot(path=str(screenshots / "dashboard-en.png"), full_page=True)
    await en.context.close()
