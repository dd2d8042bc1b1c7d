"""N ``kefu serve`` workers on PostgreSQL + a Chroma server under load, with faults (issue 12).

Customers (half on REST, half on Telegram in webhook mode against the fake Bot API) each send
``--messages`` distinct questions, 0.2-1 s apart. A REST customer waits for each answer (the
REST call returns it); a Telegram customer does not (people type faster than bots answer), and
the fake Telegram posts one chat's updates one after another, as Telegram does, so arrival
order is send order and "out of order" measures the bot. The "load balancer" is the client: REST
requests and the fake Telegram's webhook pushes go to the workers round-robin. The fake
OpenAI-compatible server makes ``--llm-timeouts`` of the LLM calls time out. In the middle of
the run one worker is killed with SIGKILL and restarted; what got no answer is redelivered as
Telegram and a REST client would (REST: the same ``message_id`` again, to the next worker;
Telegram: a webhook call that failed is posted again, an acknowledged one is not).

Reported: lost (goal 0), answered twice (0), out of order (0), p50/p95 per message,
messages/s, PostgreSQL connections (pg_stat_activity, peak), LLM calls and timeouts.

    KEFU_TEST_DATABASE_URL=postgresql+asyncpg://... .venv/bin/python benchmarks/workers.py \
        [--workers 1,3] [--customers 200] [--messages 5] [--embedder e5|hashing] [--no-kill]
    .venv/bin/python benchmarks/workers.py --sqlite-latency [--questions 160]

The database named by KEFU_TEST_DATABASE_URL is emptied (DROP SCHEMA public) before each run.
``--sqlite-latency``: one worker on SQLite, no LLM, distinct questions from new customers, one
keep-alive client (see also benchmarks/turn_profile.py for where the time goes).
Writes benchmarks/results/workers*.json and benchmarks/results/workers.md.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from core.types import ConversationKey  # noqa: E402
from tests.core.conftest import reset_postgres  # noqa: E402
from tests.fakes import telegram as fake_telegram  # noqa: E402
from tests.fakes.flaky_llm import FlakyOpenAIServer  # noqa: E402
from tests.fakes.telegram import ApiCall, FakeTelegram, message_update  # noqa: E402
from tests.system.clients import transcript  # noqa: E402
from tests.system.cluster import API_TOKEN, AUTH, ChromaServer, Cluster, Worker, shared_env  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
EVAL = Path(os.environ.get("KEFU_EVAL_DIR", "/work/shared/eval"))
DEMO_QUERIES = ROOT / "benchmarks" / "data" / "demo_queries.jsonl"
SECRET = "benchmark-webhook-secret"
LLM_TIMEOUT_S = 2.0
PREFIXES = ("", "请问", "Hi, ", "你好，", "Hello! ", "麻烦问下，")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def latency(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50_ms": float("nan"), "p95_ms": float("nan")}
    return {
        "p50_ms": round(statistics.median(values), 1),
        "p95_ms": round(percentile(values, 0.95), 1),
        "max_ms": round(max(values), 1),
    }


def questions(count: int) -> list[str]:
    """``count`` distinct questions: one in three about the demo shop (FAQ, passages and so
    LLM calls), the rest from the public eval sets (stackfaq_en, cmrc2018_zh)."""
    demo = [json.loads(line)["query"] for line in DEMO_QUERIES.read_text().splitlines() if line]
    shop = [prefix + q for prefix in PREFIXES for q in demo]
    public: list[list[str]] = []
    for name in ("stackfaq_en", "cmrc2018_zh"):
        lines = (EVAL / name / "queries.jsonl").read_text(encoding="utf-8").splitlines()
        public.append([json.loads(line)["query"].strip() for line in lines if line.strip()])
    mixed = [q for pair in itertools.zip_longest(*public) for q in pair if q]
    out: list[str] = []
    seen: set[str] = set()
    shop_iter, public_iter = iter(shop), iter(mixed)
    while len(out) < count:
        source = shop_iter if len(out) % 3 == 0 else public_iter
        question = next(source, None) or next(public_iter)
        if question not in seen:
            seen.add(question)
            out.append(question)
    return out


@dataclass
class Message:
    customer: str
    platform: str
    index: int
    text: str
    message_id: str
    sent_at: float = 0.0
    answered_at: float | None = None
    attempts: int = 0
    replies: int = 0
    apology: bool = False
    """The answer was the "sorry, something went wrong" message (answer_kind error)."""


@dataclass
class Run:
    workers: list[Worker]
    http: aiohttp.ClientSession
    telegram: FakeTelegram
    messages: list[Message]
    sent: int = 0
    kill_at: int | None = None
    killed: asyncio.Event = field(default_factory=asyncio.Event)
    rr: itertools.count[int] = field(default_factory=itertools.count)
    telegram_deliveries: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    events: list[str] = field(default_factory=list)

    def next_worker(self) -> Worker:
        return self.workers[next(self.rr) % len(self.workers)]


async def send_rest(run: Run, message: Message) -> None:
    """POSTs until a worker answers 200, the same message id each time (a careful client)."""
    body = {"sender": message.customer, "message": message.text, "message_id": message.message_id}
    while message.attempts < 40:
        message.attempts += 1
        worker = run.next_worker()
        try:
            async with run.http.post(
                f"{worker.url}/webhooks/rest/webhook",
                json=body,
                headers=AUTH,
                timeout=aiohttp.ClientTimeout(total=60),
            ) as response:
                if response.status == 200:
                    replies = await response.json()
                    message.replies = len(replies)
                    message.apology = any(
                        r.get("custom", {}).get("answer_kind") == "error" for r in replies
                    )
                    message.answered_at = time.monotonic()
                    return
        except (aiohttp.ClientError, TimeoutError):
            pass
        await asyncio.sleep(0.5)


async def send_telegram(run: Run, message: Message, update_id: int) -> None:
    """Posts the update like Telegram: again (to the next worker) until one answers 200."""
    chat_id = int(message.customer.removeprefix("tg-"))
    update = message_update(
        update_id, chat_id=chat_id, user_id=chat_id, text=message.text, message_id=message.index + 1
    )
    while message.attempts < 40:
        message.attempts += 1
        worker = run.next_worker()
        try:
            url = f"{worker.url}/webhooks/telegram"
            if await run.telegram.post_webhook(url, update, SECRET) == 200:
                return
        except (aiohttp.ClientError, TimeoutError):
            pass
        await asyncio.sleep(0.5)


async def customer(
    run: Run, mine: list[Message], update_ids: itertools.count[int], ramp_s: float
) -> None:
    rng = random.Random(mine[0].customer)
    await asyncio.sleep(rng.uniform(0, ramp_s))  # customers arrive over the ramp
    for message in mine:
        message.sent_at = time.monotonic()
        run.sent += 1
        if run.kill_at is not None and run.sent >= run.kill_at and not run.killed.is_set():
            run.killed.set()
        if message.platform == "rest":  # a REST widget waits for the answer
            await send_rest(run, message)
        else:  # Telegram posts a chat's updates one after another, not waiting for answers
            await send_telegram(run, message, next(update_ids))
        await asyncio.sleep(rng.uniform(0.2, 1.0))


async def kill_and_restart(run: Run, victim: Worker) -> None:
    await run.killed.wait()
    started = time.monotonic()
    await victim.kill()
    run.events.append(f"killed {victim.name} -9 after {run.sent} messages sent")
    try:
        await victim.restart(timeout_s=300)
    except (TimeoutError, RuntimeError) as error:
        run.events.append(f"{victim.name} NOT ready again: {str(error).splitlines()[0]}")
        return
    run.events.append(f"{victim.name} ready again after {time.monotonic() - started:.1f} s")


async def pg_connections(engine: AsyncEngine, peak: list[int], stop: asyncio.Event) -> None:
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid()"
    )
    while not stop.is_set():
        async with engine.connect() as connection:
            peak.append(int((await connection.execute(query)).scalar_one()))
        await asyncio.sleep(0.5)


def telegram_latencies(run: Run) -> list[float]:
    """The k-th sendMessage to a chat answers its k-th message (one reply per message)."""
    out = []
    for message in run.messages:
        if message.platform != "telegram":
            continue
        at = run.telegram_deliveries[int(message.customer.removeprefix("tg-"))]
        if message.index < len(at):
            message.answered_at = at[message.index]
            out.append((at[message.index] - message.sent_at) * 1000)
    return out


async def wait_for_telegram(run: Run, expected: int, quiet_s: float = 15.0) -> None:
    """Until every Telegram message got its answer, or nothing new came for ``quiet_s``."""
    last, last_change = -1, time.monotonic()
    while True:
        count = sum(len(v) for v in run.telegram_deliveries.values())
        if count >= expected:
            await asyncio.sleep(2.0)  # room for duplicates
            return
        if count != last:
            last, last_change = count, time.monotonic()
        if time.monotonic() - last_change > quiet_s:
            return
        await asyncio.sleep(0.2)


async def order_check(database_url: str, run: Run) -> dict[str, int]:
    """Reads each conversation back: processed in the order sent, one turn per message."""
    by_customer: dict[str, list[Message]] = defaultdict(list)
    for message in run.messages:
        by_customer[message.customer].append(message)
    out_of_order = interleaved = handled_twice = not_recorded = 0
    for name, mine in by_customer.items():
        platform = mine[0].platform
        chat = name.removeprefix("tg-")
        key = (
            ConversationKey("rest", name, name)
            if platform == "rest"
            else ConversationKey("telegram", chat, chat)
        )
        events = await transcript(database_url, key)
        users = [t for kind, t in events if kind == "user_message"]
        sent = [m.text for m in mine]
        handled_twice += len(users) - len(set(users))
        not_recorded += len(set(sent) - set(users))
        seen = list(dict.fromkeys(users))
        if [t for t in sent if t in seen] != seen:
            out_of_order += 1
        kinds = [kind for kind, _ in events]
        if any(a == b == "user_message" for a, b in itertools.pairwise(kinds)):
            interleaved += 1
    return {
        "conversations_processed_out_of_order": out_of_order,
        "conversations_with_interleaved_turns": interleaved,
        "messages_handled_twice": handled_twice,
        "messages_not_in_transcript": not_recorded,
    }


async def run_workers(args: argparse.Namespace, count: int, tmp: Path) -> dict[str, Any]:
    database_url = os.environ["KEFU_TEST_DATABASE_URL"]
    await reset_postgres(database_url)
    total = args.customers * args.messages
    pool = questions(total)
    async with (
        ChromaServer(tmp / f"chroma-{count}") as chroma,
        FlakyOpenAIServer(slow_share=args.llm_timeouts, slow_s=LLM_TIMEOUT_S + 3) as llm,
    ):
        telegram = FakeTelegram()
        await telegram.start()
        env = shared_env(database_url, chroma.url, embedder=args.embedder)
        env.update(
            {
                "KEFU_LOGGING__LEVEL": "WARNING",
                # every message must get the bot's answer: no handoff (a queued customer's
                # messages go to a human, which would read as "lost" here)
                "KEFU_HANDOFF__ENABLED": "false",
                "KEFU_LLM__BACKEND": "openai",
                "KEFU_LLM__MODEL": "fake-chat",
                "KEFU_LLM__BASE_URL": llm.base_url,
                "KEFU_LLM__API_KEY": "sk-bench",
                "KEFU_LLM__MAX_RETRIES": "0",
                "KEFU_LLM__TIMEOUT_S": str(LLM_TIMEOUT_S),
                "KEFU_TELEGRAM__ENABLED": "true",
                "KEFU_TELEGRAM__TOKEN": fake_telegram.TOKEN,
                "KEFU_TELEGRAM__MODE": "webhook",
                "KEFU_TELEGRAM__WEBHOOK_SECRET": SECRET,
                "KEFU_TELEGRAM__API_BASE_URL": telegram.base_url,
            }
        )
        cluster = Cluster(tmp / f"workers-{count}", env)
        engine = create_async_engine(database_url, poolclass=NullPool)
        try:
            return await _measure(args, cluster, count, telegram, llm, engine, pool, database_url)
        finally:
            await cluster.stop()
            await engine.dispose()
            await telegram.stop()


async def _start(cluster: Cluster, count: int) -> tuple[list[Worker], float]:
    """The first worker prepares the empty deployment; the others reuse its intent model."""
    started = time.monotonic()
    [first] = await cluster.start(1, timeout_s=600)
    others = [cluster.add() for _ in range(count - 1)]
    for worker in others:
        shutil.copytree(first.data_dir / "models", worker.data_dir / "models")
        worker.start()
    await asyncio.gather(*(w.wait_ready(600) for w in others))
    return [first, *others], time.monotonic() - started


async def _measure(
    args: argparse.Namespace,
    cluster: Cluster,
    count: int,
    telegram: FakeTelegram,
    llm: FlakyOpenAIServer,
    engine: AsyncEngine,
    pool: list[str],
    database_url: str,
) -> dict[str, Any]:
    workers, start_s = await _start(cluster, count)
    messages = []
    for c in range(args.customers):
        platform = "rest" if c % 2 == 0 else "telegram"
        name = f"rest-{c}" if platform == "rest" else f"tg-{100_000 + c}"
        for i in range(args.messages):
            text_ = pool[c * args.messages + i]
            messages.append(Message(name, platform, i, text_, f"{name}-{i}"))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        run = Run(workers, http, telegram, messages)

        def on_send(call: ApiCall) -> None:
            run.telegram_deliveries[int(call.params["chat_id"])].append(time.monotonic())

        telegram.on_send = on_send
        kill = args.kill and count > 1
        if kill:
            run.kill_at = len(messages) // 2
        stop, peak = asyncio.Event(), [0]
        watcher = asyncio.create_task(pg_connections(engine, peak, stop))
        killer = asyncio.create_task(kill_and_restart(run, workers[1])) if kill else None
        by_customer: dict[str, list[Message]] = defaultdict(list)
        for message in messages:
            by_customer[message.customer].append(message)
        update_ids = itertools.count(1)
        began = time.monotonic()
        await asyncio.gather(
            *(customer(run, mine, update_ids, args.ramp_s) for mine in by_customer.values())
        )
        expected_tg = sum(1 for m in messages if m.platform == "telegram")
        await wait_for_telegram(run, expected_tg)
        if killer is not None:
            await killer
        stop.set()
        await watcher
    rest = [m for m in messages if m.platform == "rest"]
    rest_latencies = [
        (m.answered_at - m.sent_at) * 1000 for m in rest if m.answered_at and m.replies
    ]
    tg_latencies = telegram_latencies(run)
    finished = max((m.answered_at or began) for m in messages)
    tg_sent: dict[int, int] = defaultdict(int)
    for m in messages:
        if m.platform == "telegram":
            tg_sent[int(m.customer.removeprefix("tg-"))] += 1
    tg_lost = sum(max(0, n - len(run.telegram_deliveries[chat])) for chat, n in tg_sent.items())
    tg_twice = sum(max(0, len(run.telegram_deliveries[chat]) - n) for chat, n in tg_sent.items())
    order = await order_check(database_url, run)
    answered = len(rest_latencies) + len(tg_latencies)
    return {
        "workers": count,
        "embedder": args.embedder,
        "customers": args.customers,
        "ramp_s": args.ramp_s,
        "messages_per_customer": args.messages,
        "messages": len(messages),
        "start_s": round(start_s, 1),
        "killed_and_restarted": kill,
        "events": run.events,
        "lost": {
            "rest_no_answer": sum(1 for m in rest if not m.replies),
            "rest_apology_only": sum(1 for m in rest if m.replies and m.apology),
            "telegram_never_delivered": tg_lost,
        },
        "answered_twice": {"telegram_extra_deliveries": tg_twice},
        "order": order,
        "latency_all": latency(rest_latencies + tg_latencies),
        "latency_rest": latency(rest_latencies),
        "latency_telegram": latency(tg_latencies),
        "answered": answered,
        "elapsed_s": round(finished - began, 1),
        "messages_per_s": round(answered / max(finished - began, 1e-9), 1),
        "rest_attempts_over_1": sum(1 for m in rest if m.attempts > 1),
        "pg_connections_peak": max(peak),
        "telegram_refused": [
            f"{c.method} {c.status}" for c in telegram.refused() if c.method != "sendMessageDraft"
        ][:20],
        "llm_calls": llm.calls,
        "llm_timeouts": llm.slow_calls,
        "load_average": os.getloadavg(),
    }


async def sqlite_latency(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """One worker on SQLite and embedded Chroma, no LLM: distinct questions, new customers."""
    env = {
        "KEFU_KNOWLEDGE__EMBEDDER": args.embedder,
        "KEFU_RATE_LIMIT_PER_MINUTE": "0",
        "KEFU_LOGGING__LEVEL": "WARNING",
        "KEFU_LLM__BACKEND": "none",
        "KEFU_WEB__API_TOKEN": API_TOKEN,
    }
    cluster = Cluster(tmp / "sqlite", env)
    try:
        [worker] = await cluster.start(1, timeout_s=600)
        pool = questions(args.questions + 10)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as http:
            for n, question in enumerate(pool[:10]):
                await worker.say(http, f"warm-{n}", question)
            timings = []
            for n, question in enumerate(pool[10:]):
                began = time.monotonic()
                await worker.say(http, f"new-{n}", question)
                timings.append((time.monotonic() - began) * 1000)
    finally:
        await cluster.stop()
    return {
        "mode": "sqlite-latency",
        "embedder": args.embedder,
        "questions": len(timings),
        **latency(timings),
        "load_average": os.getloadavg(),
    }


def markdown(results: list[dict[str, Any]]) -> str:
    lines = ["# Workers benchmark (benchmarks/workers.py)", ""]
    if any(r.get("mode") != "sqlite-latency" for r in results):
        lines += [
            "| workers | ramp s | messages | lost (REST / Telegram) | REST apologies "
            "| not in transcript | twice (Telegram) "
            "| out of order | interleaved | p50 ms | p95 ms | msg/s | PG conns (peak) "
            "| LLM calls / timeouts |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
    for r in results:
        if r.get("mode") == "sqlite-latency":
            continue
        lost, order = r["lost"], r["order"]
        lines.append(
            f"| {r['workers']}{' (one killed -9)' if r['killed_and_restarted'] else ''} "
            f"| {r['ramp_s']} | {r['messages']} "
            f"| {lost['rest_no_answer']} / {lost['telegram_never_delivered']} "
            f"| {lost.get('rest_apology_only', '-')} | {order['messages_not_in_transcript']} "
            f"| {r['answered_twice']['telegram_extra_deliveries']} "
            f"| {order['conversations_processed_out_of_order']} "
            f"| {order['conversations_with_interleaved_turns']} "
            f"| {r['latency_all']['p50_ms']} | {r['latency_all']['p95_ms']} "
            f"| {r['messages_per_s']} | {r['pg_connections_peak']} "
            f"| {r['llm_calls']} / {r['llm_timeouts']} |"
        )
    for r in results:
        if r.get("mode") == "sqlite-latency":
            lines.append(
                f"\nOne worker, SQLite, no LLM, {r['questions']} distinct questions from new "
                f"customers ({r['embedder']}): p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms."
            )
    return "\n".join(lines) + "\n"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", default="1,3", help="comma-separated worker counts")
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--messages", type=int, default=5)
    parser.add_argument("--embedder", default="e5", choices=["e5", "hashing", "use"])
    parser.add_argument("--llm-timeouts", type=float, default=0.1)
    parser.add_argument(
        "--ramp-s",
        type=float,
        default=0.0,
        help="customers arrive spread over this many seconds (0: all at once, saturating)",
    )
    parser.add_argument("--no-kill", dest="kill", action="store_false")
    parser.add_argument("--sqlite-latency", action="store_true")
    parser.add_argument("--questions", type=int, default=160)
    parser.add_argument("--tag", default="", help="suffix of the result file names")
    parser.add_argument("--work-dir", type=Path, help="keep worker data and logs here")
    args = parser.parse_args()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = args.work_dir or Path(tmp_name)
        if args.sqlite_latency:
            results.append(await sqlite_latency(args, tmp))
        else:
            if "KEFU_TEST_DATABASE_URL" not in os.environ:
                raise SystemExit("set KEFU_TEST_DATABASE_URL to an expendable PostgreSQL database")
            for count in (int(n) for n in args.workers.split(",")):
                result = await run_workers(args, count, tmp)
                print(json.dumps(result, ensure_ascii=False), flush=True)
                results.append(result)
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "workers_sqlite" if args.sqlite_latency else "workers"
    (RESULTS / f"{name}{args.tag}.json").write_text(
        json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    summary = markdown(results)
    (RESULTS / f"{name}{args.tag}.md").write_text(summary, encoding="utf-8")
    print(summary)


if __name__ == "__main__":
    asyncio.run(main())
