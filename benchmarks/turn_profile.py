"""Where one turn's time goes: distinct questions from new customers, one worker, no LLM.

Two measurements on one data directory (the default offline set-up: e5 embedder, demo
knowledge base, SQLite, embedded Chroma; the first start ingests and trains, which is timed):

1. in process: ``Kefu.create`` then ``pipeline.handle`` for each question, with timing
   wrappers around every step of the turn (session load, each store call, each SQL statement
   and commit, intent classification, query embedding, BM25, dense search, policy) -- the
   breakdown;
2. over HTTP: ``kefu serve`` as a subprocess, one keep-alive client, sequential -- the number a
   customer sees.

Questions are distinct and come from /work/shared/eval (stackfaq_en and cmrc2018_zh queries,
alternating), each from a new customer, so neither the query cache nor a session helps.

    .venv/bin/python benchmarks/turn_profile.py [--questions 160] [--data-dir DIR]

Writes benchmarks/results/turn_profile{--tag}.json and prints a plain-text report.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "turn_profile.json"
EVAL = Path(os.environ.get("KEFU_EVAL_DIR", ROOT.parent / "shared" / "eval"))
if not EVAL.exists():
    EVAL = Path("/work/shared/eval")
SETS = ("stackfaq_en", "cmrc2018_zh")


def load_questions(count: int, skip: int = 0) -> list[str]:
    """``count`` distinct questions, alternating between the sets, after skipping ``skip``."""
    per_set: list[list[str]] = []
    for name in SETS:
        lines = (EVAL / name / "queries.jsonl").read_text(encoding="utf-8").splitlines()
        per_set.append([json.loads(line)["query"].strip() for line in lines if line.strip()])
    seen: set[str] = set()
    merged: list[str] = []
    for pair in itertools.zip_longest(*per_set):
        for question in pair:
            if question and question not in seen:
                seen.add(question)
                merged.append(question)
    if len(merged) < skip + count:
        raise SystemExit(f"only {len(merged)} distinct questions in {EVAL}")
    return merged[skip : skip + count]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(values), 1),
        "p95_ms": round(percentile(values, 0.95), 1),
        "mean_ms": round(statistics.fmean(values), 1),
        "max_ms": round(max(values), 1),
    }


class Spans:
    """Inclusive time per label within the current turn (turns are sequential)."""

    def __init__(self) -> None:
        self.current: dict[str, list[float]] = defaultdict(list)
        self.turns: list[dict[str, list[float]]] = []

    @contextlib.contextmanager
    def span(self, label: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.current[label].append((time.perf_counter() - started) * 1000)

    def end_turn(self) -> None:
        self.turns.append(dict(self.current))
        self.current = defaultdict(list)

    def wrap(self, owner: Any, name: str, label: str) -> None:
        """Replaces ``owner.name`` (sync or async callable) with a timed one."""
        original = getattr(owner, name)
        if asyncio.iscoroutinefunction(original):

            @functools.wraps(original)
            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                with self.span(label):
                    return await original(*args, **kwargs)

            setattr(owner, name, timed_async)
        else:

            @functools.wraps(original)
            def timed(*args: Any, **kwargs: Any) -> Any:
                with self.span(label):
                    return original(*args, **kwargs)

            setattr(owner, name, timed)

    def table(self) -> list[dict[str, Any]]:
        for turn in self.turns:  # one line for the database as a whole
            sql = [
                value
                for label, values in turn.items()
                if label.startswith("sql ")
                for value in values
            ]
            turn["sql: every statement, BEGIN, COMMIT, ROLLBACK"] = sql
        labels = sorted({label for turn in self.turns for label in turn})
        rows = []
        for label in labels:
            totals = [sum(turn.get(label, [])) for turn in self.turns]
            calls = [len(turn.get(label, [])) for turn in self.turns]
            rows.append(
                {
                    "step": label,
                    "calls_per_turn": round(statistics.fmean(calls), 2),
                    "mean_ms_per_turn": round(statistics.fmean(totals), 2),
                    "p50_ms_per_turn": round(statistics.median(totals), 2),
                    "p95_ms_per_turn": round(percentile(totals, 0.95), 2),
                }
            )
        return sorted(rows, key=lambda row: -float(row["mean_ms_per_turn"]))


def instrument_sql(spans: Spans, engine: Any) -> None:
    """Times every statement, commit and connection checkout of one SQLAlchemy engine."""
    from sqlalchemy import event

    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "before_cursor_execute")
    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        conn.info.setdefault("kefu_started", []).append(time.perf_counter())

    @event.listens_for(sync_engine, "after_cursor_execute")
    def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        started = conn.info["kefu_started"].pop()
        verb = statement.lstrip().split(None, 1)[0].upper()
        table = _table_of(statement)
        spans.current[f"sql {verb} {table}"].append((time.perf_counter() - started) * 1000)

    dialect = sync_engine.dialect
    for name in ("do_commit", "do_begin", "do_rollback"):
        spans.wrap(dialect, name, f"sql {name.removeprefix('do_').upper()}")


def _table_of(statement: str) -> str:
    words = statement.replace("\n", " ").split()
    upper = [w.upper() for w in words]
    for marker in ("INTO", "UPDATE", "FROM"):
        if marker in upper:
            index = upper.index(marker) + 1
            if index < len(words):
                return words[index].strip('"')
    return ""


def instrument(spans: Spans, kefu: Any) -> None:
    """Timing wrappers around the steps of one turn (those this version of main has)."""
    import bot.pipeline.chain as pipeline_module
    import bot.pipeline.knowledge as knowledge_step
    import knowledge.retrieval as retrieval_module

    def wrap(owner: Any, name: str, label: str) -> None:
        if owner is not None and hasattr(owner, name):
            spans.wrap(owner, name, label)

    pipeline = kefu.pipeline
    runner = getattr(kefu, "runner", None)
    if runner is not None:  # the durable runtime: inbox -> lock -> turn -> one commit
        wrap(runner, "_record", "1 runner: record in inbox")
        wrap(runner, "_answer_up_to", "2 runner: lock + answer waiting")
        wrap(runner, "_turn", "3 runner: turn (pipeline + commit)")
        wrap(runner, "_replies", "4 runner: pipeline replies")
        wrap(runner._locks, "hold", "runner: conversation lock (enter)")
        for name in dir(runner._inbox):
            if not name.startswith("_") and callable(getattr(runner._inbox, name)):
                wrap(runner._inbox, name, f"inbox.{name}")
        wrap(kefu.store, "commit_turn", "store.commit_turn")
    wrap(pipeline, "_is_first_delivery", "1 dedupe claim (store.claim_message)")
    wrap(pipeline, "_first", "pipeline: the steps (everything between)")
    wrap(pipeline, "_record_replies", "pipeline: record replies")
    wrap(pipeline_module, "load_session", "pipeline: load_session")
    for name in ("get_or_create", "events", "append_event", "claim_message", "get"):
        wrap(kefu.store, name, f"store.{name}")
    wrap(kefu.understander, "understand", "intent: understand (thread)")
    wrap(kefu.understander.classifier, "predict", "intent: classifier.predict")
    wrap(kefu.knowledge.embedder.inner, "embed_queries", "embed: model (uncached query)")
    wrap(kefu.knowledge, "search", "kb.search (thread)")
    retriever = kefu.knowledge.retriever
    wrap(retriever.query_vectors, "vector", "query vector, intent and kb (cache or embed)")
    wrap(retriever._store, "query", "kb: dense search (chroma query)")
    wrap(retriever._store, "get", "kb: chroma get chunks")
    wrap(retrieval_module, "tokenize", "kb: tokenize (jieba)")
    lexical = kefu.knowledge._lexical
    wrap(lexical, "search", "kb: bm25 search")
    wrap(lexical, "coverage", "kb: bm25 coverage")
    wrap(knowledge_step, "decide_answer", "policy: decide_answer")
    wrap(knowledge_step, "render_answer", "policy: render_answer")
    wrap(kefu.handoff, "route_customer_message", "handoff: route_customer_message")
    wrap(kefu.handoff, "maybe_escalate", "handoff: maybe_escalate")
    wrap(kefu.feedback, "handle_command", "feedback: handle_command")
    wrap(kefu.feedback, "take_pending_reason", "feedback: take_pending_reason")
    for step in getattr(pipeline, "steps", ()):
        wrap(getattr(step, "_actions", None), "respond", "dialogue: respond (slots)")
    wrap(getattr(pipeline, "_limiter", None), "allow", "rate limit")
    instrument_sql(spans, kefu.db.engine)


def settings_env(data_dir: Path) -> dict[str, str]:
    return {
        "KEFU_DATA_DIR": str(data_dir),
        "KEFU_LOGGING__LEVEL": "WARNING",
        "KEFU_RATE_LIMIT_PER_MINUTE": "0",
        "KEFU_LLM__BACKEND": "none",
    }


async def in_process(data_dir: Path, questions: list[str], warmup: list[str]) -> dict[str, Any]:
    os.environ.update(settings_env(data_dir))
    from bot.app import Kefu
    from core.settings import KefuSettings
    from core.types import ConversationKey, IncomingMessage

    first_start = not (data_dir / "kefu.db").exists()
    started = time.perf_counter()
    kefu = await Kefu.create(KefuSettings())
    create_s = time.perf_counter() - started
    run = uuid.uuid4().hex[:8]

    async def turn(n: int, text: str) -> list[Any]:
        key = ConversationKey("rest", f"prof-{run}-{n}", f"prof-{run}-{n}")
        message = IncomingMessage(message_id=uuid.uuid4().hex, key=key, text=text)
        if hasattr(kefu, "runner"):  # what the REST channel calls on the durable runtime
            return [entry.message for entry in await kefu.runner.handle(message)]
        replies: list[Any] = await kefu.pipeline.handle(message)
        return replies

    try:
        for n, text in enumerate(warmup):
            await turn(-1 - n, text)
        embed_alone = await asyncio.to_thread(embedding_alone, kefu, questions)
        spans = Spans()
        instrument(spans, kefu)
        totals: list[float] = []
        kinds: dict[str, int] = defaultdict(int)
        for n, text in enumerate(questions):
            begun = time.perf_counter()
            with spans.span("0 whole turn (runner.handle or pipeline.handle)"):
                replies = await turn(n, text)
            totals.append((time.perf_counter() - begun) * 1000)
            spans.end_turn()
            for reply in replies:
                kinds[str(reply.custom.get("answer_kind"))] += 1
    finally:
        await kefu.close()
    return {
        "first_start": first_start,
        "kefu_create_s": round(create_s, 2),
        "turns": len(totals),
        "turn": summary(totals),
        "answer_kinds": dict(kinds),
        "one_query_embedding_alone": embed_alone,
        "steps": spans.table(),
    }


def embedding_alone(kefu: Any, questions: list[str]) -> dict[str, float]:
    """One query embedding, measured on its own under the same machine load (reference for
    the issue's goal: p50 <= 3x this). The questions are embedded again in the turns, but
    through the inner model, so no cache is involved."""
    inner = kefu.knowledge.embedder.inner
    timings = []
    for text in questions[:60]:
        begun = time.perf_counter()
        inner.embed_queries([text + " ?"])
        timings.append((time.perf_counter() - begun) * 1000)
    return summary(timings)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def over_http(data_dir: Path, questions: list[str], warmup: list[str]) -> dict[str, Any]:
    port = free_port()
    env = {**os.environ, **settings_env(data_dir), "KEFU_SERVER__PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    run = uuid.uuid4().hex[:8]
    try:
        connector = aiohttp.TCPConnector(limit=1)
        async with aiohttp.ClientSession(connector=connector) as http:
            started = time.perf_counter()
            await wait_healthy(http, base, process)
            start_s = time.perf_counter() - started

            async def ask(sender: str, text: str) -> float:
                begun = time.perf_counter()
                async with http.post(
                    f"{base}/webhooks/rest/webhook", json={"sender": sender, "message": text}
                ) as response:
                    body = await response.json()
                    if response.status != 200 or not body:
                        raise RuntimeError(f"{response.status}: {body}")
                return (time.perf_counter() - begun) * 1000

            for n, text in enumerate(warmup):
                await ask(f"warm-{run}-{n}", text)
            latencies = [await ask(f"http-{run}-{n}", text) for n, text in enumerate(questions)]
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return {"warm_start_s": round(start_s, 2), "turns": len(latencies), **summary(latencies)}


async def wait_healthy(
    http: aiohttp.ClientSession, base: str, process: subprocess.Popen[bytes], limit_s: float = 600
) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("kefu serve exited during start-up")
        with contextlib.suppress(aiohttp.ClientError):
            async with http.get(f"{base}/readyz") as response:
                status = response.status
            if status == 404:  # a main without /readyz
                async with http.get(f"{base}/healthz") as response:
                    status = response.status
            if status == 200:
                return
        await asyncio.sleep(0.1)
    raise TimeoutError("kefu serve did not become ready")


def report(result: dict[str, Any]) -> str:
    lines = []
    inproc = result["in_process"]
    lines.append(
        f"in process: {inproc['turns']} turns, p50 {inproc['turn']['p50_ms']} ms, "
        f"p95 {inproc['turn']['p95_ms']} ms, mean {inproc['turn']['mean_ms']} ms "
        f"(Kefu.create {inproc['kefu_create_s']} s, first start: {inproc['first_start']})"
    )
    lines.append(f"answer kinds: {inproc['answer_kinds']}")
    alone = inproc["one_query_embedding_alone"]
    lines.append(
        f"one query embedding alone (same load): p50 {alone['p50_ms']} ms, p95 {alone['p95_ms']} ms"
    )
    lines.append(f"load average before/after: {result['load_before']} / {result['load_after']}")
    lines.append(f"{'step (inclusive, nested)':58} {'calls':>6} {'mean':>7} {'p50':>7} {'p95':>7}")
    for row in inproc["steps"]:
        lines.append(
            f"{row['step'][:58]:58} {row['calls_per_turn']:>6} {row['mean_ms_per_turn']:>7} "
            f"{row['p50_ms_per_turn']:>7} {row['p95_ms_per_turn']:>7}"
        )
    if "http" in result:
        http = result["http"]
        lines.append(
            f"over HTTP (kefu serve, one keep-alive client): {http['turns']} turns, "
            f"p50 {http['p50_ms']} ms, p95 {http['p95_ms']} ms, mean {http['mean_ms']} ms"
        )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=int, default=160)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument(
        "--data-dir", type=Path, help="reuse (or create) this data dir; default: a fresh temp dir"
    )
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--tag", default="", help="suffix of the result file name")
    args = parser.parse_args()
    warmup = load_questions(args.warmup, skip=0)
    profiled = load_questions(args.questions, skip=args.warmup)
    served = load_questions(args.questions, skip=args.warmup + args.questions)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir or Path(tmp) / "data"
        result: dict[str, Any] = {
            "questions_from": [str(EVAL / name) for name in SETS],
            "load_before": os.getloadavg(),
        }
        result["in_process"] = await in_process(data_dir, profiled, warmup)
        if not args.skip_http:
            result["http"] = await over_http(data_dir, served, warmup)
        result["load_after"] = os.getloadavg()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.with_stem(RESULTS.stem + args.tag).write_text(
        json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(report(result))


if __name__ == "__main__":
    asyncio.run(main())
