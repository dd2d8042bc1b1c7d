"""Commands of the feedback room: ``kefu dataset export``, ``kefu finetune lora``, ``kefu report``.

The lead's ``bot/cli.py`` mounts them::

    app.add_typer(feedback_cli.dataset_app, name="dataset")
    app.add_typer(feedback_cli.finetune_app, name="finetune")
    app.command("report")(feedback_cli.report)
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer

from bot.texts import Catalog, use_catalog
from core.settings import KefuSettings

dataset_app = typer.Typer(help="Fine-tuning datasets from feedback.", no_args_is_help=True)
finetune_app = typer.Typer(
    help="Fine-tune a local model on an exported dataset.", no_args_is_help=True
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object as the last line.")]
SinceOption = Annotated[
    str | None, typer.Option(help="Only from this date (YYYY-MM-DD) or ISO timestamp on.")
]


@asynccontextmanager
async def _storage(settings: KefuSettings) -> AsyncIterator[Any]:
    from bot.feedback.candidates import CandidateScanner, CandidateStore
    from core.storage import ConversationStore, Database

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(settings.database_url)
    try:
        await database.upgrade()
        store = ConversationStore(database)
        candidates = CandidateStore(database)
        scanner = CandidateScanner(
            store,
            database,
            candidates,
            context_turns=settings.feedback.context_turns,
            context_gap=timedelta(minutes=settings.feedback.context_gap_minutes),
        )
        yield store, candidates, scanner
    finally:
        await database.dispose()


def _settings() -> KefuSettings:
    """The settings, with the text catalog they describe installed (company name, texts)."""
    settings = KefuSettings()
    use_catalog(Catalog.load(settings.texts, settings.company))
    return settings


def _since(value: str | None, settings: KefuSettings) -> Any:
    from bot.feedback.analytics import parse_since

    try:
        return parse_since(value, ZoneInfo(settings.feedback.timezone))
    except ValueError as error:
        raise typer.BadParameter("use a date like 2025-03-01", param_hint="--since") from error


@dataset_app.command("export")
def dataset_export(
    fmt: Annotated[
        str, typer.Option("--format", help="chatglm3, alpaca or openai.", case_sensitive=False)
    ],
    out: Annotated[Path, typer.Option(help="Folder for the JSON lines and the dataset card.")],
    split: Annotated[str, typer.Option(help="Train,validation,test shares.")] = "0.8,0.1,0.1",
    seed: Annotated[int, typer.Option(help="The same seed gives the same split.")] = 0,
    since: SinceOption = None,
    reviewed_only: Annotated[
        bool, typer.Option(help="Leave out agent corrections nobody has reviewed yet.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Export approved answers, agent corrections and 👍-rated answers as a dataset."""
    from bot.feedback.export import ExportOptions, export_dataset
    from bot.feedback.formats import FORMATS
    from bot.feedback.split import parse_ratios

    name = fmt.lower()
    if name not in FORMATS:
        raise typer.BadParameter(f"use one of {', '.join(FORMATS)}", param_hint="--format")
    try:
        ratios = parse_ratios(split)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--split") from error
    settings = _settings()
    options = ExportOptions(
        fmt=name,
        out=out,
        ratios=ratios,
        seed=seed,
        since=_since(since, settings),
        include_pending=not reviewed_only,
    )

    async def run() -> dict[str, Any]:
        async with _storage(settings) as (store, candidates, scanner):
            card = await export_dataset(store, candidates, scanner, settings.feedback, options)
        return card.to_json()

    card = asyncio.run(run())
    if as_json:
        typer.echo(json.dumps(card, ensure_ascii=False))
        return
    counts = ", ".join(f"{name} {n}" for name, n in card["counts"].items())
    redacted = ", ".join(f"{k} {n}" for k, n in card["redactions"].items()) or "nothing"
    typer.echo(f"Exported {name} to {out}: {counts}.")
    typer.echo(f"Redacted: {redacted}. Duplicates removed: {card['duplicates_removed']}.")


@finetune_app.command("lora")
def finetune_lora(
    base: Annotated[str, typer.Option(help="Local model folder (or cached Hub id).")],
    data: Annotated[Path, typer.Option(help="Folder written by `kefu dataset export`.")],
    out: Annotated[Path, typer.Option(help="Folder for the adapter and metrics.json.")],
    epochs: Annotated[int, typer.Option(min=1)] = 3,
    lr: Annotated[float, typer.Option(help="Peak learning rate.")] = 2e-4,
    rank: Annotated[int, typer.Option(min=1, help="LoRA rank.")] = 8,
    max_steps: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many steps.")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1)] = 4,
    max_length: Annotated[int, typer.Option(min=8, help="Tokens per example.")] = 512,
    eval_limit: Annotated[int, typer.Option(min=0, help="Test examples generated.")] = 50,
    max_new_tokens: Annotated[int, typer.Option(min=1)] = 128,
    target_modules: Annotated[
        str | None, typer.Option(help="Comma-separated module names; default per architecture.")
    ] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    trust_remote_code: Annotated[
        bool, typer.Option(help="Run the model folder's own code (ChatGLM3 needs it).")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """LoRA-tune a causal LM on the train split; ROUGE/BLEU on the test split before and after."""
    from bot.feedback.finetune import LoraOptions, run_lora

    options = LoraOptions(
        base=base,
        data=data,
        out=out,
        epochs=epochs,
        lr=lr,
        rank=rank,
        max_steps=max_steps,
        batch_size=batch_size,
        max_length=max_length,
        eval_limit=eval_limit,
        max_new_tokens=max_new_tokens,
        target_modules=tuple(target_modules.split(",")) if target_modules else None,
        device=device,
        trust_remote_code=trust_remote_code,
    )
    metrics = run_lora(options)
    if as_json:
        typer.echo(json.dumps(metrics, ensure_ascii=False))
        return
    test = metrics["test"]
    typer.echo(f"Adapter saved to {out} ({metrics['train']['steps']} steps).")
    for when in ("before", "after"):
        scores = ", ".join(f"{k} {v:.4f}" for k, v in test[when].items()) or "no test split"
        typer.echo(f"{when}: {scores}")


def report(
    since: SinceOption = None,
    html: Annotated[Path | None, typer.Option(help="Also write the HTML report here.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Support analytics: volume, resolution, handoffs, CSAT, ratings, intents, KB gaps."""
    from bot.feedback.analytics import build_report
    from bot.feedback.models import CandidateStatus
    from bot.feedback.report_html import render_report
    from core.telemetry.llm_records import LLMCallStore
    from core.telemetry.llm_report import compare_models, models_text

    settings = _settings()
    zone = ZoneInfo(settings.feedback.timezone)
    start = _since(since, settings)

    async def run() -> Any:
        async with _storage(settings) as (store, candidates, _):
            approved = await candidates.find(CandidateStatus.APPROVED)
            report = await build_report(
                store,
                since=start,
                zone=zone,
                top=settings.feedback.report_top,
                gap_distance=settings.feedback.gap_cluster_distance,
                answered=[c.question for c in approved],
                answered_events=[c.question_event_id for c in approved],
            )
            return report, compare_models(await LLMCallStore(candidates.database).since(start))

    result, models = asyncio.run(run())
    if html is not None:
        html.write_text(render_report(result, models=models), encoding="utf-8")
    if as_json:
        payload = {**result.to_json(), "models": [row.to_json() for row in models]}
        typer.echo(json.dumps(payload, ensure_ascii=False))
        return
    typer.echo(_summary(result))
    typer.echo(models_text(models))
    if html is not None:
        typer.echo(f"HTML report: {html}")


def _summary(result: Any) -> str:
    def pct(value: float | None) -> str:
        return "—" if value is None else f"{100 * value:.1f}%"

    waits = result.wait_seconds
    lines = [
        f"Conversations: {result.conversations} "
        f"({', '.join(f'{k} {v}' for k, v in result.per_channel.items()) or '—'})",
        f"Resolved by the bot: {pct(result.resolved_by_bot_share)}; "
        f"handed to a human: {pct(result.handoff_rate)}",
        f"Wait for an agent: median {waits['median']:.0f} s, p90 {waits['p90']:.0f} s"
        if waits
        else "Wait for an agent: —",
        "CSAT: "
        + ("—" if result.csat_average is None else f"{result.csat_average:.2f}/5")
        + f" ({result.csat_count} ratings)",
        f"👍 {result.ratings_up} / 👎 {result.ratings_down} ({pct(result.ratings_up_share)} 👍)",
        "Top intents: " + (", ".join(f"{i} {n}" for i, n in result.top_intents) or "—"),
        f"Unanswered questions: {result.unanswered}",
    ]
    lines.extend(f"  {g.count:>4} × {g.example}" for g in result.gaps)
    return "\n".join(lines)
