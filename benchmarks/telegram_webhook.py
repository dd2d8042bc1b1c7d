"""Telegram webhook mode under load: N customers x M messages through the fake Bot API server.

Each customer (its own private chat) sends its messages one after another, each as soon as the
previous one was answered, all customers at once. A share of updates is delivered twice, as
Telegram does when it thinks a webhook call failed. Measures the time from posting an update
to the bot's sendMessage for it, and checks that no message is lost or answered twice.

    .venv/bin/python benchmarks/telegram_webhook.py [--customers 200] [--messages 5]
        [--handler kefu|echo] [--embedder e5|hashing|use] [--redeliver 0.05] [--limit-s 300]

``--handler kefu`` (default) runs the real pipeline (storage, retrieval over the demo knowledge
base); ``echo`` isolates the adapter and python-telegram-bot. The fake server, our aiohttp
server and the bot share one process and event loop, as the adapter and the server do in
``kefu serve``. Writes benchmarks/results/telegram_webhook.json and prints it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pydantic import SecretStr  # noqa: E402

from bot.adapters.base import MessageHandler  # noqa: E402
from bot.adapters.telegram import TelegramAdapter  # noqa: E402
from bot.logs import configure_logging  # noqa: E402
from core.config.channels import TelegramSettings  # noqa: E402
from core.config.logs import LoggingSettings  # noqa: E402
from core.types import IncomingMessage, OutgoingMessage  # noqa: E402
from tests.fakes.runtime import local_runtime  # noqa: E402
from tests.fakes.server import serve_routes  # noqa: E402
from tests.fakes.telegram import TOKEN, ApiCall, FakeTelegram, message_update  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "telegram_webhook.json"
QUERIES = ROOT / "benchmarks" / "data" / "demo_queries.jsonl"
SECRET = "benchmark-secret"
SETTLE_S = 2.0  # after the last answer, wait this long for late duplicates


class Deliveries:
    """Counts sendMessage calls per chat and wakes the customer waiting for one."""

    def __init__(self) -> None:
        self.count: dict[int, int] = defaultdict(int)
        self.at: dict[int, list[float]] = defaultdict(list)
        self._waiters: dict[int, asyncio.Event] = defaultdict(asyncio.Event)

    def record(self, call: ApiCall) -> None:
        chat = int(call.params["chat_id"])
        self.count[chat] += 1
        self.at[chat].append(call.at)
        self._waiters[chat].set()

    async def wait(self, chat: int, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.count[chat] < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._waiters[chat].clear()
            try:
                await asyncio.wait_for(self._waiters[chat].wait(), remaining)
            except TimeoutError:
                return False
        return True


async def echo(message: IncomingMessage, **_: Any) -> Sequence[OutgoingMessage]:
    return [OutgoingMessage(text=f"You said: {message.text}")]


async def customer(
    fake: FakeTelegram,
    url: str,
    chat: int,
    questions: list[str],
    deliveries: Deliveries,
    rng: random.Random,
    redeliver: float,
    latencies: list[float],
    stats: dict[str, int],
    deadline: float,
) -> None:
    for number, text in enumerate(questions, start=1):
        update = message_update(
            fake.next_update_id(), chat_id=chat, user_id=chat, text=text, message_id=number
        )
        posted = time.monotonic()
        status = await fake.post_webhook(url, update, SECRET)
        stats["posted"] += 1
        if status != 200:
            stats["webhook_errors"] += 1
        if rng.random() < redeliver:
            await fake.post_webhook(url, update, SECRET)
            stats["redelivered"] += 1
        if not await deliveries.wait(chat, number, max(0.0, deadline - time.monotonic())):
            return  # lost (or out of time): counted at the end
        latencies.append((deliveries.at[chat][number - 1] - posted) * 1000)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


async def build_handler(args: argparse.Namespace) -> tuple[MessageHandler, Any, float]:
    if args.handler == "echo":
        return echo, None, 0.0
    from bot.app import Kefu
    from core.settings import KefuSettings, KnowledgeSettings

    started = time.monotonic()
    data_dir = Path(tempfile.mkdtemp(prefix="kefu-bench-"))
    settings = KefuSettings(data_dir=data_dir, knowledge=KnowledgeSettings(embedder=args.embedder))
    kefu = await Kefu.create(settings, configure_logs=False)
    return kefu.pipeline.handle, kefu, time.monotonic() - started


def questions_for(count: int, rng: random.Random) -> list[str]:
    queries = [json.loads(line)["query"] for line in QUERIES.read_text().splitlines() if line]
    return [rng.choice(queries) for _ in range(count)]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(7)
    handler, kefu, setup_s = await build_handler(args)
    fake = FakeTelegram()
    await fake.start()
    deliveries = Deliveries()
    fake.on_send = deliveries.record
    settings = TelegramSettings(
        enabled=True,
        token=SecretStr(TOKEN),
        mode="webhook",
        webhook_secret=SecretStr(SECRET),
        api_base_url=fake.base_url,
        max_concurrent_updates=args.concurrency,
    )
    runtime = None
    if kefu is None:  # the echo handler behind the same runtime (inbox, runner, outbox)
        runtime_cm = local_runtime(handler)
        runtime = await runtime_cm.__aenter__()
        adapter = runtime.attach(TelegramAdapter(settings, runtime.runner, runtime.shared))
    else:
        adapter = TelegramAdapter(settings, kefu.runner, kefu.shared)
        kefu.add_adapter(adapter)
    latencies: list[float] = []
    stats: dict[str, int] = defaultdict(int)
    chats = [100_000 + n for n in range(args.customers)]
    try:
        async with serve_routes(adapter.routes()) as base:
            await adapter.start()
            url = base + settings.webhook_path
            started = time.monotonic()
            deadline = started + args.limit_s
            await asyncio.gather(
                *(
                    customer(
                        fake,
                        url,
                        chat,
                        questions_for(args.messages, rng),
                        deliveries,
                        rng,
                        args.redeliver,
                        latencies,
                        stats,
                        deadline,
                    )
                    for chat in chats
                )
            )
            wall = time.monotonic() - started
            await asyncio.sleep(SETTLE_S)
            await adapter.stop()
    finally:
        await fake.stop()
        if kefu is not None:
            await kefu.close()
        if runtime is not None:
            await runtime_cm.__aexit__(None, None, None)
    answered = {chat: deliveries.count[chat] for chat in chats}
    expected = args.customers * args.messages
    return {
        "customers": args.customers,
        "messages_per_customer": args.messages,
        "handler": args.handler,
        "embedder": args.embedder if args.handler == "kefu" else None,
        "updates_sent": stats["posted"],
        "updates_redelivered": stats["redelivered"],
        "webhook_errors": stats["webhook_errors"],
        "answers": sum(answered.values()),
        "lost": sum(max(0, args.messages - n) for n in answered.values()),
        "answered_twice": sum(max(0, n - args.messages) for n in answered.values()),
        "refused_by_telegram": len(fake.refused()),
        "complete": len(latencies) == expected,
        "latency_ms": {
            "p50": round(percentile(latencies, 0.50), 1),
            "p95": round(percentile(latencies, 0.95), 1),
            "max": round(max(latencies, default=float("nan")), 1),
        },
        "throughput_msgs_per_s": round(len(latencies) / wall, 1) if wall else None,
        "wall_s": round(wall, 2),
        "setup_s": round(setup_s, 2),
        "limit_s": args.limit_s,
        "max_concurrent_updates": args.concurrency,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--messages", type=int, default=5)
    parser.add_argument("--handler", choices=["kefu", "echo"], default="kefu")
    parser.add_argument("--embedder", choices=["e5", "use", "hashing"], default="e5")
    parser.add_argument(
        "--redeliver", type=float, default=0.05, help="share of updates Telegram delivers twice"
    )
    parser.add_argument("--concurrency", type=int, default=64, help="max_concurrent_updates")
    parser.add_argument(
        "--limit-s",
        type=float,
        default=300.0,
        help="stop waiting for answers after this many seconds",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    configure_logging(LoggingSettings(level="WARNING"))  # a log line per message skews timing
    result = asyncio.run(run(args))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
