"""Admins manage the knowledge base from the chat; everyone else is refused."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Kefu
from tests.bot.conftest import BACKEND, ask

Client = TestClient[Any, Any]


async def test_admin_adds_an_faq_that_is_answered_at_once(client: Client) -> None:
    question = "Do you offer gift wrapping for orders?"
    answer = "Yes, gift wrapping costs 5 yuan; choose it at checkout."
    [added] = await ask(client, "admin", f"/kb add {question} | {answer}")
    assert "added" in added["text"]
    [reply] = await ask(client, "olga", question)
    assert reply["text"] == answer


async def test_admin_deletes_one_added_faq_by_its_id(client: Client) -> None:
    keep = ("Do you deliver on Sundays?", "Yes, Sunday delivery is free in Shanghai.")
    drop = ("Do you offer gift wrapping for orders?", "Yes, gift wrapping costs 5 yuan.")
    for question, answer in (keep, drop):
        [added] = await ask(client, "admin", f"/kb add {question} | {answer}")
    faq_id = re.search(r"added-[0-9a-f]+", added["text"])
    assert faq_id is not None

    [deleted] = await ask(client, "admin", f"/kb delete {faq_id.group()}")

    assert "Deleted 1 chunks" in deleted["text"]
    [gone] = await ask(client, "olga", drop[0])
    assert gone["text"] != drop[1]
    [kept] = await ask(client, "pavel", keep[0])
    assert kept["text"] == keep[1]


async def test_kb_add_without_separator_explains_the_format(client: Client) -> None:
    [reply] = await ask(client, "admin", "/kb add how do I do this")
    assert "|" in reply["text"]


async def test_reload_answers_at_once_and_reports_when_done(client: Client, kefu: Kefu) -> None:
    answered_now = [m["text"] for m in await ask(client, "admin", "/kb reload")]
    assert any("Reloading" in text for text in answered_now)
    await kefu.admin.wait_for_reload()
    response = await client.get(
        "/webhooks/rest/messages", params={"sender": "admin"}, headers=BACKEND
    )
    texts = answered_now + [m["text"] for m in await response.json()]
    reports = [text for text in texts if "unchanged" in text]
    assert len(reports) == 1  # the report arrives once, with the reply or later
    assert "0 added" in reports[0]


async def test_search_shows_scores_and_sources(client: Client) -> None:
    [reply] = await ask(client, "admin", "/kb search 发票")
    first_line = reply["text"].splitlines()[0]
    assert first_line.startswith("1. [")
    assert "faq.csv" in reply["text"]


async def test_unknown_command_shows_help(client: Client) -> None:
    [reply] = await ask(client, "admin", "/frobnicate")
    assert "Unknown command" in reply["text"]
    assert "/kb reload" in reply["text"]


async def test_stats_for_admin(client: Client) -> None:
    [reply] = await asyncio.wait_for(ask(client, "admin", "/kb stats"), 10)
    assert "FAQ entries" in reply["text"]


async def test_an_alias_makes_an_added_faq_answer_another_phrasing(client: Client) -> None:
    question = "Do you offer gift wrapping for orders?"
    answer = "Yes, gift wrapping costs 5 yuan; choose it at checkout."
    await ask(client, "admin", f"/kb add {question} | {answer}")
    [aliased] = await ask(client, "admin", f"/kb alias {question} | can you wrap a present")
    assert "Alternative phrasing added" in aliased["text"]
    [reply] = await ask(client, "olga", "can you wrap a present")
    assert reply["text"] == answer
    [unknown] = await ask(client, "admin", "/kb alias added-0000000000 | anything")
    assert "no FAQ entry" in unknown["text"]
    # an entry from the FAQ file takes one too, by its id
    [filed] = await ask(client, "admin", "/kb alias payment-methods-en | u guys take paypal?")
    assert "payment-methods-en" in filed["text"]
    [paid] = await ask(client, "olga", "u guys take paypal?")
    assert paid["custom"]["citations"][0]["doc_id"] == "payment-methods-en"
