"""Per-message latency, throughput, start-up time and peak memory of `kefu serve`.

Runs the real server as a subprocess on 127.0.0.1 with the default (offline, no LLM) set-up
and a fresh data directory, and talks to it over the REST channel.

    .venv/bin/python benchmarks/chat_latency.py [--messages 200] [--customers 50]

Writes benchmarks/results/chat_latency.json and prints it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "chat_latency.json"
QUESTIONS = [
    "退货需要多久能退款？",
    "How long is the warranty?",
    "怎么开发票？",
    "Can I cancel my order?",
    "运费怎么算？",
    "What payment methods do you accept?",
    "会员积分怎么用？",
    "How do I return an item?",
    "保修期是多久？",
    "Do you ship internationally?",
]


API_TOKEN = "benchmark-api-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def wait_ready(base: str, process: subprocess.Popen[bytes], limit_s: float = 300) -> float:
    started = time.perf_counter()
    async with aiohttp.ClientSession() as http:
        while time.perf_counter() - started < limit_s:
            if process.poll() is not None:
                raise RuntimeError("kefu serve exited during start-up")
            try:
                async with http.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return time.perf_counter() - started
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
    raise TimeoutError("server did not start")


async def ask(http: aiohttp.ClientSession, base: str, sender: str, text: str) -> float:
    started = time.perf_counter()
    async with http.post(
        f"{base}/webhooks/rest/webhook",
        json={"sender": sender, "message": text},
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    ) as response:
        body = await response.json()
        assert response.status == 200 and body, body
    return (time.perf_counter() - started) * 1000


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def measure(base: str, messages: int, customers: int) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http:
        for question in QUESTIONS:  # warm-up: first calls load jieba's dictionary etc.
            await ask(http, base, "warmup", question)
        latencies = [
            await ask(http, base, f"seq-{i % 20}", QUESTIONS[i % len(QUESTIONS)])
            for i in range(messages)
        ]

        async def customer(n: int, count: int) -> list[float]:
            return [
                await ask(http, base, f"cust-{n}", QUESTIONS[(n + i) % len(QUESTIONS)])
                for i in range(count)
            ]

        per_customer = 5
        started = time.perf_counter()
        results = await asyncio.gather(*(customer(n, per_customer) for n in range(customers)))
        elapsed = time.perf_counter() - started
    concurrent = [value for values in results for value in values]
    return {
        "sequential_messages": messages,
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "concurrent_customers": customers,
        "concurrent_messages": len(concurrent),
        "throughput_msg_per_s": round(len(concurrent) / elapsed, 1),
        "concurrent_p50_ms": round(statistics.median(concurrent), 1),
        "concurrent_p95_ms": round(percentile(concurrent, 0.95), 1),
    }


def start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "KEFU_DATA_DIR": str(data_dir),
        "KEFU_SERVER__PORT": str(port),
        "KEFU_LOGGING__LEVEL": "WARNING",
        "KEFU_RATE_LIMIT_PER_MINUTE": "0",
        "KEFU_WEB__API_TOKEN": API_TOKEN,  # the benchmark plays a backend naming its customers
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--customers", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        first = start_server(data_dir, port)
        first_start_s = await wait_ready(base, first)
        first.terminate()
        first.wait(30)
        server = start_server(data_dir, port)
        try:
            warm_start_s = await wait_ready(base, server)
            result = await measure(base, args.messages, args.customers)
            result["peak_rss_mb"] = round(peak_rss_mb(server.pid), 1)
        finally:
            server.terminate()
            server.wait(30)
    result = {
        "first_start_s_with_demo_ingest": round(first_start_s, 2),
        "start_s": round(warm_start_s, 2),
        **result,
        "cpu_count": os.cpu_count(),
        "when": time.strftime("%Y-%m-%d %H:%M"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
