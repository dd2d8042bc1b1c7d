"""The support report's numbers on a seeded event log, its HTML charts and ``kefu report``."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import typer
from typer.testing import CliRunner

from bot.feedback.analytics import Report, build_report
from bot.feedback.cli import report as report_command
from bot.feedback.report_html import render_report
from core.storage import ConversationStore, Database
from tests.bot.feedback.conftest import Clock
from tests.bot.feedback.logs import Chat


async def answered(chat: Chat, question: str, intent: str, kind: str = "faq") -> None:
    await chat.customer(question)
    await chat.understood(intent)
    await chat.bot(f"answer to {question}", kind=kind)


async def handed_off(chat: Chat, wait: float | None, action: str = "claimed") -> None:
    await chat.customer("human")
    await chat.bot("Connecting you.", kind="handoff")
    await chat.handoff("escalated")
    await chat.handoff(action, seconds=wait or 10, agent="agent-7")
    if action == "claimed":
        await chat.agent("Hello, how can I help?")
        await chat.handoff("closed")


async def seed_two_days(store: ConversationStore, clock: Clock) -> None:
    """8 conversations on 2025-03-01 and 2025-03-02 with known outcomes."""
    a = Chat(store, clock, "a")
    await answered(a, "How long is the warranty?", "warranty")
    await a.rate((await store.events(a.key))[-1], "up")

    b = Chat(store, clock, "b")
    await answered(b, "Can I pay with bitcoin?", "payment", kind="dont_know")
    await handed_off(b, wait=120)
    await b.csat(5)

    c = Chat(store, clock, "c", platform="telegram")
    await answered(c, "明天会下雨吗？", "weather", kind="dont_know")

    clock.now = datetime(2025, 3, 2, 9, 0, tzinfo=UTC)
    d = Chat(store, clock, "d", platform="telegram")
    await answered(d, "明天下雨吗", "weather", kind="dont_know")
    await handed_off(d, wait=300)
    await d.csat(3)

    e = Chat(store, clock, "e")
    await answered(e, "Do you ship to Canada?", "shipping", kind="passage")
    await e.rate((await store.events(e.key))[-1], "down")

    f = Chat(store, clock, "f", platform="web")
    await answered(f, "What is the return window?", "returns")
    await handed_off(f, wait=None, action="cancelled")

    g = Chat(store, clock, "g", platform="web")
    await answered(g, "Is the charger included?", "product")

    h = Chat(store, clock, "h")
    await answered(h, "Can I pay in bitcoin", "payment", kind="dont_know")


@pytest.fixture
async def report(store: ConversationStore, clock: Clock) -> Report:
    await seed_two_days(store, clock)
    return await build_report(store)


def test_volume_per_day_and_channel(report: Report) -> None:
    assert report.conversations == 8
    assert report.per_day == {"2025-03-01": 3, "2025-03-02": 5}
    assert report.per_channel == {"rest": 4, "telegram": 2, "web": 2}


def test_resolution_and_handoffs(report: Report) -> None:
    assert report.resolved_by_bot == 2  # a and g; c and h said "I don't know", e got a 👎
    assert report.resolved_by_bot_share == 0.25
    assert report.handoffs == 3
    assert report.handoff_rate == 0.375
    assert report.unclaimed_handoffs == 1
    assert report.wait_seconds == {
        "count": 2,
        "mean": 210.0,
        "median": 210.0,
        "p90": 300.0,
        "max": 300.0,
    }


def test_satisfaction_and_ratings(report: Report) -> None:
    assert report.csat_count == 2
    assert report.csat_average == 4.0
    assert report.csat_distribution == {"1": 0, "2": 0, "3": 1, "4": 0, "5": 1}
    assert (report.ratings_up, report.ratings_down, report.ratings_up_share) == (1, 1, 0.5)


def test_top_intents_and_knowledge_base_gaps(report: Report) -> None:
    assert report.top_intents[:2] == [("payment", 2), ("weather", 2)]
    assert report.unanswered == 4
    assert [g.count for g in report.gaps] == [2, 2]
    groups = [{g.example, *g.others} for g in report.gaps]
    assert {"Can I pay with bitcoin?", "Can I pay in bitcoin"} in groups
    assert {"明天会下雨吗？", "明天下雨吗"} in groups


async def test_days_are_counted_in_the_configured_time_zone(
    store: ConversationStore, clock: Clock
) -> None:
    clock.now = datetime(2025, 3, 1, 20, 0, tzinfo=UTC)  # 04:00 on 2 March in Shanghai
    await answered(Chat(store, clock, "late"), "Hi?", "greeting")
    shanghai = await build_report(store, zone=ZoneInfo("Asia/Shanghai"))
    assert shanghai.per_day == {"2025-03-02": 1}
    assert (await build_report(store)).per_day == {"2025-03-01": 1}


async def test_since_leaves_out_earlier_days(store: ConversationStore, clock: Clock) -> None:
    await seed_two_days(store, clock)
    later = await build_report(store, since=datetime(2025, 3, 2, tzinfo=UTC))
    assert later.per_day == {"2025-03-02": 5}


def test_the_html_report_has_charts_and_the_numbers(report: Report) -> None:
    html = render_report(report)
    assert html.count("<svg") >= 6
    assert "2025-03-02: 5" in html  # the bar's hover title
    assert "25.0%" in html and "37.5%" in html and "4.00 / 5" in html
    assert "Can I pay with bitcoin?" in html


async def test_customer_text_is_escaped_and_redacted_in_the_report(
    store: ConversationStore, clock: Clock
) -> None:
    chat = Chat(store, clock, "x")
    await answered(chat, "<script>alert(1)</script> call 13812345678?", "x", kind="dont_know")
    html = render_report(await build_report(store))
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "13812345678" not in html and "[PHONE]" in html


def test_kefu_report_prints_json_and_writes_html(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("KEFU_DATA_DIR", str(data_dir))
    monkeypatch.delenv("KEFU_STORAGE__DATABASE_URL", raising=False)

    async def seed() -> None:
        database = Database(f"sqlite+aiosqlite:///{data_dir / 'kefu.db'}")
        await database.upgrade()
        try:
            await seed_two_days(ConversationStore(database, clock=Clock()), Clock())
        finally:
            await database.dispose()

    asyncio.run(seed())
    app = typer.Typer()
    app.command("report")(report_command)
    app.command("noop")(lambda: None)  # two commands: `report` stays a subcommand
    html = tmp_path / "report.html"

    result = CliRunner().invoke(
        app, ["report", "--since", "2025-03-01", "--html", str(html), "--json"]
    )

    assert result.exit_code == 0, result.output
    numbers = json.loads(result.output.strip().splitlines()[-1])
    assert numbers["conversations"] == 8 and numbers["handoff_rate"] == 0.375
    assert numbers["top_intents"][0] == {"intent": "payment", "count": 2}
    assert "<svg" in html.read_text()

    text = CliRunner().invoke(app, ["report"])
    assert "Resolved by the bot: 25.0%; handed to a human: 37.5%" in text.output
