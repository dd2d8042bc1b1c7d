"""``kefu dataset export``: sources, redaction, duplicates, schemas, splits and the card."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import typer
from typer.testing import CliRunner

from bot.feedback.cli import dataset_app
from bot.feedback.export import DatasetCard, ExportOptions, export_dataset
from bot.feedback.formats import FORMATS, SCHEMAS, Format, messages_of
from bot.feedback.service import FeedbackService
from core.storage import ConversationStore, Database
from core.types import ConversationKey
from tests.bot.feedback.conftest import Clock
from tests.bot.feedback.logs import Chat

SPLITS = ("train", "validation", "test")


async def seed_history(service: FeedbackService, store: ConversationStore, clock: Clock) -> None:
    """A week of support: every source of examples, and everything that must stay out."""
    await store.get_or_create(ConversationKey("rest", "zhang", "zhang"), display_name="张三")
    chat = Chat(store, clock, "zhang")
    await chat.customer("你好，我叫张三")
    await chat.bot("张三您好，请问有什么可以帮您？", kind="small_talk")
    await chat.customer("订单DD20250301可以用比特币付款吗？我的电话13812345678")
    await chat.bot("抱歉，我不知道。", kind="dont_know")
    await chat.agent("张三您好，不支持比特币，可以用支付宝。有问题发邮件到 zs@example.com")
    [approved] = await service.review.pending()
    await service.review.approve(approved.id, "admin")

    chat = Chat(store, clock, "olga")
    await chat.customer("Do you ship to Macau?")
    await chat.bot("Sorry, I don't know.", kind="dont_know")
    await chat.agent("Yes, Macau deliveries take 5 days.")  # pending: an agent correction

    chat = Chat(store, clock, "troll")
    await chat.customer("Can I pay with seashells?")
    await chat.bot("Sorry, I don't know.", kind="dont_know")
    await chat.agent("lol no")
    rejected = [c for c in await service.review.pending() if c.answer == "lol no"]
    await service.review.reject(rejected[0].id, "admin", "not a real answer")

    for user in ("amy", "ben"):  # the same rated answer twice: one example
        chat = Chat(store, clock, user)
        await chat.customer("How long is the warranty?")
        await chat.rate(await chat.bot("Two years for laptops."), "up")

    chat = Chat(store, clock, "cat")
    await chat.customer("怎么开发票？")
    good = await chat.bot("在订单详情页点击“申请发票”。")
    await chat.rate(good, "up")
    await chat.customer("那电子发票呢？")  # a follow-up: the earlier turn is its context
    await chat.rate(await chat.bot("电子发票会发到您的邮箱。", kind="passage"), "up")

    chat = Chat(store, clock, "dan")
    await chat.customer("Is the charger included?")
    changed = await chat.bot("Yes, a 65 W charger.")
    await chat.rate(changed, "up")
    await chat.rate(changed, "down")  # changed their mind: not an example
    await chat.customer("What is the return window?")
    await chat.rate(await chat.bot("30 days."), "down")


async def export(
    service: FeedbackService, store: ConversationStore, out: Path, fmt: Format, **options: Any
) -> DatasetCard:
    return await export_dataset(
        store,
        service.candidates,
        service.scanner,
        service.settings,
        ExportOptions(fmt=fmt, out=out, **options),
    )


def read_lines(folder: Path) -> dict[str, list[dict[str, Any]]]:
    return {
        name: [json.loads(line) for line in (folder / f"{name}.jsonl").read_text().splitlines()]
        for name in SPLITS
    }


def every_line(folder: Path) -> list[dict[str, Any]]:
    return [line for lines in read_lines(folder).values() for line in lines]


@pytest.fixture
async def history(service: FeedbackService, store: ConversationStore, clock: Clock) -> None:
    await seed_history(service, store, clock)


@pytest.mark.usefixtures("history")
@pytest.mark.parametrize("fmt", FORMATS)
async def test_every_line_matches_the_format_schema(
    service: FeedbackService, store: ConversationStore, tmp_path: Path, fmt: Format
) -> None:
    await export(service, store, tmp_path, fmt)

    lines = every_line(tmp_path)
    assert len(lines) == 5
    for line in lines:
        jsonschema.validate(line, SCHEMAS[fmt])
    assert json.loads((tmp_path / "schema.json").read_text()) == SCHEMAS[fmt]


@pytest.mark.usefixtures("history")
async def test_chatglm3_lines_hold_system_context_question_and_answer(
    service: FeedbackService, store: ConversationStore, tmp_path: Path
) -> None:
    await export(service, store, tmp_path, "chatglm3")

    by_question = {line["conversations"][-2]["content"]: line for line in every_line(tmp_path)}
    follow_up = by_question["那电子发票呢？"]["conversations"]
    assert [turn["role"] for turn in follow_up] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
    ]
    assert follow_up[0]["content"].startswith("你是星河电子的智能客服")
    assert follow_up[1:3] == [
        {"role": "user", "content": "怎么开发票？"},
        {"role": "assistant", "content": "在订单详情页点击“申请发票”。"},
    ]
    assert follow_up[-1] == {"role": "assistant", "content": "电子发票会发到您的邮箱。"}


@pytest.mark.usefixtures("history")
async def test_alpaca_keeps_earlier_turns_as_history(
    service: FeedbackService, store: ConversationStore, tmp_path: Path
) -> None:
    await export(service, store, tmp_path, "alpaca")

    [line] = [x for x in every_line(tmp_path) if x["instruction"] == "那电子发票呢？"]
    assert line["history"] == [["怎么开发票？", "在订单详情页点击“申请发票”。"]]
    assert line["output"] == "电子发票会发到您的邮箱。"
    assert messages_of(line)[-2:] == [
        {"role": "user", "content": "那电子发票呢？"},
        {"role": "assistant", "content": "电子发票会发到您的邮箱。"},
    ]


@pytest.mark.usefixtures("history")
async def test_sources_are_approved_corrections_and_thumbs_up_without_rejects_or_repeats(
    service: FeedbackService, store: ConversationStore, tmp_path: Path
) -> None:
    card = await export(service, store, tmp_path, "openai")

    text = (tmp_path / "train.jsonl").read_text() + (tmp_path / "validation.jsonl").read_text()
    text += (tmp_path / "test.jsonl").read_text()
    answers = [line["messages"][-1]["content"] for line in every_line(tmp_path)]
    assert "Yes, Macau deliveries take 5 days." in answers
    assert answers.count("Two years for laptops.") == 1
    assert "lol no" not in text and "65 W" not in text and "30 days." not in text
    sources: dict[str, int] = {}
    for per_split in card.sources.values():
        for source, n in per_split.items():
            sources[source] = sources.get(source, 0) + n
    assert sources == {"approved": 1, "agent_correction": 1, "rated_up": 3}
    assert card.duplicates_removed == 1


@pytest.mark.usefixtures("history")
async def test_personal_data_is_redacted_and_reported(
    service: FeedbackService, store: ConversationStore, tmp_path: Path
) -> None:
    card = await export(service, store, tmp_path, "chatglm3")

    text = "".join((tmp_path / f"{name}.jsonl").read_text() for name in SPLITS)
    for secret in ("张三", "13812345678", "DD20250301", "zs@example.com"):
        assert secret not in text
    assert "我叫[NAME]" in text and "[PHONE]" in text and "[ORDER]" in text
    assert card.redactions == {"email": 1, "name": 3, "order": 1, "phone": 1}
    readme = (tmp_path / "README.md").read_text()
    assert "email: 1, name: 3, order: 1, phone: 1" in readme


@pytest.mark.usefixtures("history")
async def test_the_card_describes_counts_languages_and_dates(
    service: FeedbackService, store: ConversationStore, tmp_path: Path
) -> None:
    card = await export(service, store, tmp_path, "chatglm3", ratios=(0.6, 0.2, 0.2), seed=3)

    saved = json.loads((tmp_path / "card.json").read_text())
    assert saved["counts"] == card.counts
    assert sum(card.counts.values()) == 5
    assert card.counts == {name: len(lines) for name, lines in read_lines(tmp_path).items()}
    assert card.languages == {"zh": 3, "en": 2}
    assert card.date_range[0] is not None and card.date_range[0].startswith("2025-03-01")
    assert card.seed == 3 and card.split_ratios == [0.6, 0.2, 0.2]


@pytest.mark.usefixtures("history")
async def test_the_same_seed_writes_the_same_files(
    service: FeedbackService, store: ConversationStore, tmp_path: Path
) -> None:
    for run in ("a", "b"):
        await export(service, store, tmp_path / run, "openai", ratios=(0.4, 0.3, 0.3), seed=11)
    for name in SPLITS:
        first = (tmp_path / "a" / f"{name}.jsonl").read_bytes()
        assert first == (tmp_path / "b" / f"{name}.jsonl").read_bytes()


@pytest.mark.usefixtures("history")
async def test_reviewed_only_and_since_narrow_the_export(
    service: FeedbackService, store: ConversationStore, tmp_path: Path, clock: Clock
) -> None:
    card = await export(service, store, tmp_path / "r", "openai", include_pending=False)
    assert sum(card.counts.values()) == 4

    later = clock.now
    chat = Chat(store, clock, "late")
    await chat.customer("Do you sell gift cards?")
    await chat.rate(await chat.bot("Yes, from 100 yuan."), "up")
    card = await export(service, store, tmp_path / "s", "openai", since=later)
    assert [line["messages"][-1]["content"] for line in every_line(tmp_path / "s")] == [
        "Yes, from 100 yuan."
    ]
    assert card.date_range[0] == card.date_range[1]


def test_the_cli_exports_from_the_configured_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("KEFU_DATA_DIR", str(data_dir))
    monkeypatch.delenv("KEFU_STORAGE__DATABASE_URL", raising=False)

    async def seed() -> None:
        database = Database(f"sqlite+aiosqlite:///{data_dir / 'kefu.db'}")
        await database.upgrade()
        try:
            clock = Clock()
            store = ConversationStore(database, clock=clock)
            chat = Chat(store, clock, "amy")
            for question in ("How long is the warranty?", "Do you ship to Canada?"):
                await chat.customer(question)
                await chat.rate(await chat.bot(f"Answer to: {question}"), "up")
        finally:
            await database.dispose()

    asyncio.run(seed())
    app = typer.Typer()
    app.add_typer(dataset_app, name="dataset")
    out = tmp_path / "out"

    result = CliRunner().invoke(
        app,
        [
            "dataset",
            "export",
            "--format",
            "alpaca",
            "--out",
            str(out),
            "--split",
            "0.5,0.5,0",
            "--json",
        ],
    )

    assert result.exit_code == 0, result.output
    card = json.loads(result.output.strip().splitlines()[-1])
    assert card["counts"] == {"train": 1, "validation": 1, "test": 0}
    assert (out / "card.json").exists()
    bad = CliRunner().invoke(app, ["dataset", "export", "--format", "csv", "--out", str(out)])
    assert bad.exit_code != 0 and "chatglm3, alpaca, openai" in bad.output


def test_since_accepts_a_date() -> None:
    from bot.feedback.analytics import parse_since

    assert parse_since("2025-03-01") == datetime(2025, 3, 1, tzinfo=UTC)
