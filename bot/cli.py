"""The ``kefu`` command line (also ``python -m bot``)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError

from bot.adapters.wecom.cli import app as wecom_app
from bot.feedback import cli as feedback_cli
from bot.handoff.cli import agents_app
from core.config.checks import describe_validation_error, startup_problems
from core.errors import ConfigError
from core.settings import KefuSettings

app = typer.Typer(
    help="Kefu (客服): a customer-service bot that answers from your knowledge base.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database commands.", no_args_is_help=True)
kb_app = typer.Typer(help="Knowledge base commands.", no_args_is_help=True)
eval_app = typer.Typer(help="Evaluation on your own data.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(kb_app, name="kb")
app.add_typer(eval_app, name="eval")
app.add_typer(wecom_app, name="wecom", help="WeCom (企业微信) tools.")
app.add_typer(agents_app, name="agents", help="Human agents for the /agent workspace.")
app.add_typer(feedback_cli.dataset_app, name="dataset")
app.add_typer(feedback_cli.finetune_app, name="finetune")
app.command("report")(feedback_cli.report)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object as the last line.")]


def load_settings() -> KefuSettings:
    """The settings, or a short message per invalid variable and exit code 2 (no traceback)."""
    try:
        return KefuSettings()
    except ValidationError as error:
        config_failed(describe_validation_error(error))


def config_failed(problems: list[str]) -> NoReturn:
    for problem in problems:
        typer.echo(f"Configuration error: {problem}", err=True)
    raise typer.Exit(code=2)


@app.callback()
def _logging() -> None:
    """Every command logs through the same structured configuration, to stderr."""
    from bot.logs import configure_logging

    configure_logging(load_settings().logging)


def print_numbers(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, default=str))
        return
    for name, value in result.items():
        typer.echo(f"{name}: {value}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
) -> None:
    """Serve the web chat, the REST channel and every enabled platform."""
    from bot.server import serve as run_server

    settings = load_settings()
    if host:
        settings.server.host = host
    if port:
        settings.server.port = port
    problems = startup_problems(settings)
    if problems:  # before the database, the knowledge base or a model is touched
        config_failed(problems)
    try:
        asyncio.run(run_server(settings))
    except KeyboardInterrupt:
        typer.echo("Bye.")
    except ConfigError as error:  # found while starting, e.g. a token the platform rejected
        config_failed([str(error)])


@app.command()
def chat() -> None:
    """Chat with the bot in this terminal."""
    from bot.adapters.console.adapter import ConsoleChannel
    from bot.app import Kefu
    from bot.logs import configure_logging

    settings = load_settings()
    log_file = settings.data_dir / "logs" / "chat.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    typer.echo(f"Logs: {log_file}", err=True)

    async def run() -> None:
        with log_file.open("a", encoding="utf-8") as logs:
            configure_logging(settings.logging, stream=logs)  # keeps the conversation readable
            try:
                kefu = await Kefu.create(settings, configure_logs=False)
                await chat_in(kefu)
            finally:
                configure_logging(settings.logging)  # never log to the closed file

    async def chat_in(kefu: Kefu) -> None:
        console = ConsoleChannel(kefu.handle)
        kefu.add_adapter(console)
        try:
            await console.run()
        finally:
            await kefu.close()

    asyncio.run(run())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations."""
    from core.storage.db import upgrade_sync

    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_sync(settings.database_url)
    typer.echo("Database is up to date.")


def open_kb() -> Any:
    from knowledge.base import KnowledgeBase

    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return KnowledgeBase.open(
        settings.knowledge, settings.data_dir, database_url=settings.database_url
    )


def print_ingest(report: Any, skipped: dict[str, str], as_json: bool) -> None:
    """The report as a table (or JSON); exits 1 when a source failed, for ingest and reload."""
    from bot.kb_report import report_json, report_text

    if as_json:
        typer.echo(json.dumps(report_json(report, skipped), ensure_ascii=False))
    else:
        typer.echo(report_text(report, skipped))
    if report.failed:
        raise typer.Exit(code=1)


@kb_app.command("ingest")
def kb_ingest(paths: list[Path], as_json: JsonFlag = False) -> None:
    """Ingest files or folders; every skipped or failed file is listed with the reason.

    Exits 1 when a file could not be ingested.
    """
    from bot.kb_report import skipped_files

    kb = open_kb()
    skipped = skipped_files(paths, kb.settings.exclude)
    print_ingest(kb.ingest(paths), skipped, as_json)


@kb_app.command("reload")
def kb_reload(as_json: JsonFlag = False) -> None:
    """Re-ingest the configured sources; only changed files are re-embedded.

    Exits 1 when a source could not be ingested (its previous chunks keep answering).
    """
    from bot.kb_report import skipped_files

    kb = open_kb()
    skipped = skipped_files(kb.settings.source_dirs, kb.settings.exclude)
    print_ingest(kb.reload(), skipped, as_json)


@kb_app.command("stats")
def kb_stats(as_json: JsonFlag = False) -> None:
    """The knowledge base per source: chunks, type and when the file changed.

    The source names are what `/kb delete <source>` takes.
    """
    from bot.kb_report import stats_text

    kb = open_kb()
    stats = kb.stats()
    summary: dict[str, Any] = {
        "sources": stats.sources,
        "chunks": stats.chunks,
        "faq_entries": stats.faq_entries,
        "embedder": stats.embedder,
        "collection": stats.collection,
    }
    generation = getattr(stats, "generation", None)
    if generation is not None:
        summary["generation"] = generation
    details = kb.source_details()
    if as_json:
        rows = [
            {"source": d.source, "type": d.kind, "chunks": d.chunks, "modified": d.modified}
            for d in details
        ]
        typer.echo(json.dumps({**summary, "per_source": rows}, ensure_ascii=False))
        return
    typer.echo(stats_text(summary, details))


@kb_app.command("search")
def kb_search(
    query: str,
    k: Annotated[int, typer.Option(help="How many hits.")] = 5,
    as_json: JsonFlag = False,
) -> None:
    """Show the top hits for a question, with scores and sources."""
    hits = open_kb().search(query, k)
    rows = [
        {
            "rank": h.rank,
            "score": round(h.score, 4),
            "kind": h.kind,
            "title": h.title,
            "source": h.source,
            "section": h.section,
            "text": h.text,
        }
        for h in hits
    ]
    if as_json:
        typer.echo(json.dumps({"query": query, "hits": rows}, ensure_ascii=False))
        return
    for row in rows:
        typer.echo(f"{row['rank']}. [{row['score']:.3f}] {row['title']} — {row['source']}")
        typer.echo(f"   {str(row['text'])[:160]}")


CorpusOpt = Annotated[Path, typer.Option("--corpus", help="corpus.jsonl: id, text, title?")]
QueriesOpt = Annotated[Path, typer.Option("--queries", help="queries.jsonl: query, relevant_ids")]


@eval_app.command("retrieval")
def eval_retrieval(
    corpus: CorpusOpt,
    queries: QueriesOpt,
    mode: Annotated[str, typer.Option(help="hybrid, dense or bm25.")] = "hybrid",
    limit: Annotated[int | None, typer.Option(help="Only the first N queries.")] = None,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Build the index from scratch in a temporary folder.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """hit@1, hit@5, MRR@10 and median latency of the configured retrieval on your data.

    The corpus index is kept under the data folder (eval-index/) and reused by the next run:
    only a changed corpus is embedded again.
    """
    from knowledge.evaluation import default_index_dir, run_retrieval_eval

    if mode not in ("hybrid", "dense", "bm25"):
        raise typer.BadParameter("mode must be hybrid, dense or bm25")
    settings = load_settings()
    index_dir = None if fresh else default_index_dir(settings.data_dir, corpus)
    result = run_retrieval_eval(
        settings.knowledge,
        corpus,
        queries,
        mode,  # type: ignore[arg-type]
        limit=limit,
        index_dir=index_dir,
    )
    print_numbers(result, as_json)


@eval_app.command("answers")
def eval_answers(
    corpus: CorpusOpt,
    queries: QueriesOpt,
    limit: Annotated[int | None, typer.Option(help="Only the first N queries.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """ROUGE-1/2/L and BLEU-4 (all on a 0-1 scale) of the bot's answers against the gold ones."""
    from bot.answer_eval import run_answer_eval

    print_numbers(run_answer_eval(load_settings().knowledge, corpus, queries, limit), as_json)


@eval_app.command("intents")
def eval_intents(
    train: Annotated[Path, typer.Option("--train", help="CSV text,intent or JSONL.")],
    test: Annotated[Path, typer.Option("--test", help="CSV text,intent or JSONL.")],
    label_field: Annotated[str | None, typer.Option(help="Label column or key.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Train an intent classifier on one file and evaluate it on the other."""
    from bot.dialogue.evaluation import run_intent_eval

    result = run_intent_eval(
        train, test, label_field=label_field, cache_dir=load_settings().data_dir / "embedding-cache"
    )
    print_numbers(result, as_json)


def main() -> None:
    app()
