"""``kefu dataset export``: examples from the log and the review, redacted, deduplicated, split
without near-duplicate leakage, written as JSON lines with a dataset card."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import structlog

from bot.feedback.candidates import CandidateScanner, CandidateStore
from bot.feedback.dataset import Example, from_candidates, from_ratings, prepare
from bot.feedback.formats import SCHEMAS, Format, render
from bot.feedback.split import SPLITS, split_by_group
from bot.texts import current_catalog
from core.config.feedback import FeedbackSettings
from core.storage import ConversationRecord, ConversationStore, EventRecord
from core.types import utcnow

log = structlog.get_logger(__name__)


@dataclass(slots=True, frozen=True)
class ExportOptions:
    fmt: Format
    out: Path
    ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0
    since: datetime | None = None
    include_pending: bool = True


@dataclass(slots=True)
class DatasetCard:
    """What was exported: written as ``card.json`` and ``README.md`` next to the data."""

    format: str
    created_at: str
    seed: int
    split_ratios: list[float]
    counts: dict[str, int]
    sources: dict[str, dict[str, int]]
    languages: dict[str, int]
    date_range: list[str | None]
    redactions: dict[str, int]
    duplicates_removed: int
    near_duplicate_groups: int
    files: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


async def export_dataset(
    store: ConversationStore,
    candidates: CandidateStore,
    scanner: CandidateScanner,
    settings: FeedbackSettings,
    options: ExportOptions,
) -> DatasetCard:
    """Collects, prepares, splits and writes the dataset; returns its card.

    Examples asked before ``options.since`` are left out; their context may reach further back.
    """
    await scanner.scan()
    rows = await store.all_events()
    examples = await _collect(rows, candidates, settings, options.include_pending)
    if options.since is not None:
        examples = [e for e in examples if e.asked_at >= options.since]
    collected = prepare(examples)
    splits, groups = split_by_group(
        collected.examples,
        [e.question for e in collected.examples],
        options.ratios,
        seed=options.seed,
        threshold=settings.near_duplicate_threshold,
    )
    card = _card(options, splits, collected.redactions, collected.duplicates_removed, groups)
    _write(options, settings, splits, card)
    log.info("feedback.dataset.exported", format=options.fmt, **card.counts)
    return card


async def _collect(
    rows: Sequence[tuple[ConversationRecord, EventRecord]],
    candidates: CandidateStore,
    settings: FeedbackSettings,
    include_pending: bool,
) -> list[Example]:
    conversations: dict[int, tuple[ConversationRecord, list[EventRecord]]] = {}
    for record, event in rows:
        conversations.setdefault(record.id, (record, []))[1].append(event)
    names = {record.key.as_str(): record.display_name for record, _ in conversations.values()}
    examples = from_candidates(await candidates.find(), names, include_pending=include_pending)
    gap = timedelta(minutes=settings.context_gap_minutes)
    for record, events in conversations.values():
        examples.extend(
            from_ratings(record, events, context_turns=settings.context_turns, context_gap=gap)
        )
    return examples


def _card(
    options: ExportOptions,
    splits: dict[str, list[Example]],
    redactions: Counter[str],
    duplicates: int,
    groups: int,
) -> DatasetCard:
    every = [example for name in SPLITS for example in splits[name]]
    dates = sorted(example.asked_at for example in every)
    return DatasetCard(
        format=options.fmt,
        created_at=utcnow().isoformat(timespec="seconds"),
        seed=options.seed,
        split_ratios=list(options.ratios),
        counts={name: len(splits[name]) for name in SPLITS},
        sources={name: dict(Counter(e.source for e in splits[name])) for name in SPLITS},
        languages=dict(Counter(example.language for example in every).most_common()),
        date_range=[
            dates[0].isoformat(timespec="seconds") if dates else None,
            dates[-1].isoformat(timespec="seconds") if dates else None,
        ],
        redactions=dict(sorted(redactions.items())),
        duplicates_removed=duplicates,
        near_duplicate_groups=groups,
        files={name: f"{name}.jsonl" for name in SPLITS},
    )


def system_prompt(settings: FeedbackSettings, language: str) -> str:
    """The dataset's system message in ``language``, ``{company}`` filled from the catalog."""
    prompt = settings.system_prompts.get(language, "")
    return prompt.replace("{company}", current_catalog().company(language))


def _write(
    options: ExportOptions,
    settings: FeedbackSettings,
    splits: dict[str, list[Example]],
    card: DatasetCard,
) -> None:
    options.out.mkdir(parents=True, exist_ok=True)
    for name in SPLITS:
        lines = [
            json.dumps(
                render(e, options.fmt, system_prompt(settings, e.language)),
                ensure_ascii=False,
            )
            for e in splits[name]
        ]
        (options.out / f"{name}.jsonl").write_text(
            "".join(line + "\n" for line in lines), encoding="utf-8"
        )
    (options.out / "schema.json").write_text(
        json.dumps(SCHEMAS[options.fmt], ensure_ascii=False, indent=2), encoding="utf-8"
    )
    (options.out / "card.json").write_text(
        json.dumps(card.to_json(), ensure_ascii=False, indent=2), encoding="utf-8"
    )
    (options.out / "README.md").write_text(card_markdown(card), encoding="utf-8")


def card_markdown(card: DatasetCard) -> str:
    """The dataset card as Markdown, for people."""
    rows = "\n".join(
        f"| {name} | {card.counts[name]} | "
        + (", ".join(f"{s}: {n}" for s, n in sorted(card.sources[name].items())) or "—")
        + " |"
        for name in SPLITS
    )
    redactions = ", ".join(f"{kind}: {n}" for kind, n in card.redactions.items()) or "none found"
    languages = ", ".join(f"{lang}: {n}" for lang, n in card.languages.items()) or "—"
    start, end = card.date_range
    return f"""# Kefu fine-tuning dataset

Format: `{card.format}` (one JSON object per line; `schema.json` is its JSON schema).
Exported {card.created_at} with seed {card.seed} and split {card.split_ratios}.

| split | examples | sources |
| --- | --- | --- |
{rows}

- Questions asked from {start or "—"} to {end or "—"}.
- Languages: {languages}.
- Sources: `approved` (reviewed agent answers), `agent_correction` (agent answers not yet
  reviewed), `rated_up` (bot answers customers rated 👍).
- Personal data replaced by placeholders: {redactions}.
- Duplicates removed (same normalised question and answer): {card.duplicates_removed}.
- Near-duplicate questions were grouped ({card.near_duplicate_groups} groups) and each group
  kept in one split, so no test question is a reworded training question.
"""
