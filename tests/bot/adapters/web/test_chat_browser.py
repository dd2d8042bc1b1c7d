"""The web chat in a real browser: a generated answer is written into the page as it
streams, then the final answer (citations checked, sources listed) takes the draft's place."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.bot.conftest import Client
from tests.browser import needs_chromium
from tests.fakes.openai_server import FakeOpenAIServer, Reply

pytestmark = needs_chromium


async def test_customer_watches_the_answer_being_written_then_gets_the_final_one(
    llm_client: Client, llm_server: FakeOpenAIServer, page: Page
) -> None:
    text = "Laptops have a 2-year warranty, phones 1 year [资料1]."
    llm_server.enqueue(Reply(text=text, chunk_delay_s=0.3))
    await page.goto(str(llm_client.make_url("/")))
    await expect(page.locator(".msg.bot")).to_have_count(1)  # the greeting

    await page.fill("#text", "How long is the laptop warranty?")
    await page.press("#text", "Enter")

    draft = page.locator(".msg.bot.draft")
    await expect(draft).to_contain_text("Laptops have")
    assert "[资料1]" not in await draft.inner_text()  # still being written
    await expect(draft).to_have_count(0)
    answer = page.locator(".msg.bot").last
    await expect(answer).to_contain_text("phones 1 year [1].")
    await expect(answer.locator(".sources")).not_to_be_empty()
    await expect(page.locator(".msg.bot")).to_have_count(2)  # the draft became the answer
