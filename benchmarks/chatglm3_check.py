"""Check a ChatGLM3 folder (THUDM/chatglm3-6b or a fine-tune) through Kefu's transformers backend.

Weights cannot be downloaded here, so this runs where the model folder is: it loads the folder
with its own code (``trust_remote_code``, made to work on transformers 5 by
:mod:`core.llm.chatglm3_compat`), then checks and times what the bot uses: a chat answer in
ChatGLM3's role format, streaming, a function call to ``order_status`` in ChatGLM3's native
format with the result sent back as an observation, and concurrent customers in one batch.

    python benchmarks/chatglm3_check.py /models/chatglm3-6b [--device cuda] [--out FILE]

``--random-weights`` is for timing a folder of random weights (of ChatGLM3-6B's shape, say):
every answer is then exactly ``--max-new-tokens`` long, and ids the tokenizer cannot decode
are never sampled.

Prints one JSON object as the last line (and writes it to ``--out`` when given).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch
import transformers

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.config.llm import LLMSettings  # noqa: E402
from core.llm.base import ChatMessage  # noqa: E402
from core.llm.tools import order_status_tool, run_with_tools  # noqa: E402
from core.llm.transformers_backend import TransformersBackend  # noqa: E402

SYSTEM = ChatMessage("system", "你是星河电子的客服助手，回答简洁。")
QUESTIONS = ["你好，你们的退货政策是什么？", "保修期是多久？", "发票怎么开？", "What is your name?"]


async def lookup(order_no: str) -> dict[str, Any] | None:
    """A demo order: whatever number is asked for, it is on its way."""
    return {"order_no": order_no, "status": "in_transit", "carrier": "Xinghe Express"}


async def timed(coro: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    value = await coro
    return value, time.perf_counter() - started


async def first_token_s(backend: TransformersBackend, messages: list[ChatMessage]) -> float:
    started = time.perf_counter()
    async for _ in backend.stream(messages, max_tokens=32):
        return time.perf_counter() - started
    return float("nan")


def random_weight_overrides(folder: str, max_new_tokens: int) -> dict[str, Any]:
    """Fixed-length answers made only of ids the (possibly smaller) tokenizer can decode."""
    config = transformers.AutoConfig.from_pretrained(folder, trust_remote_code=True)
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
    known = len(tokenizer)
    return {
        "min_new_tokens": max_new_tokens,
        "suppress_tokens": list(range(known, config.padded_vocab_size)),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = LLMSettings(
        backend="transformers",
        model=args.folder,
        device=args.device,
        temperature=0.0,
        max_new_tokens=args.max_new_tokens,
        max_batch_size=args.customers,
        timeout_s=600,
    )
    overrides = random_weight_overrides(args.folder, args.max_new_tokens) if args.random else {}
    backend = TransformersBackend(settings, generation_overrides=overrides)
    _, load_s = await timed(backend.load())
    answer, answer_s = await timed(backend.complete([SYSTEM, ChatMessage("user", QUESTIONS[0])]))
    ttft = await first_token_s(backend, [SYSTEM, ChatMessage("user", QUESTIONS[1])])
    tool = order_status_tool(lookup)
    calls: list[str] = []

    async def observe(call: Any, output: Any) -> None:
        calls.append(json.dumps({"name": call.name, "arguments": dict(call.arguments)}))

    tooled = await run_with_tools(
        backend,
        [SYSTEM, ChatMessage("user", "帮我查一下订单 DD20241101 到哪了")],
        {tool.spec.name: tool},
        on_tool_result=observe,
    )
    questions = [QUESTIONS[i % len(QUESTIONS)] for i in range(args.customers)]
    batch = [backend.complete([SYSTEM, ChatMessage("user", q)]) for q in questions]
    answers, batch_s = await timed(asyncio.gather(*batch))
    await backend.close()
    tokens = sum(a.usage.completion_tokens for a in answers if a.usage)
    single_tokens = answer.usage.completion_tokens if answer.usage else 0
    return {
        "folder": args.folder,
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
        "random_weights": args.random,
        "load_s": round(load_s, 2),
        "answer": answer.text[:200],
        "answer_tokens": single_tokens,
        "answer_tokens_per_s": round(single_tokens / answer_s, 1),
        "ttft_s": round(ttft, 3),
        "tool_calls": calls,
        "answer_after_tool": tooled.text[:200],
        "customers": args.customers,
        "batch_answers": [a.text[:80] for a in answers[:4]],
        "batch_tokens_per_s": round(tokens / batch_s, 1),
        "batch_s": round(batch_s, 2),
        "batch_sizes": backend.batch_sizes,
        "peak_gpu_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2)
        if torch.cuda.is_available()
        else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="a ChatGLM3 model folder (with its .py files)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--customers", type=int, default=4, help="concurrent customers")
    parser.add_argument("--random-weights", dest="random", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = asyncio.run(run(args))
    line = json.dumps(result, ensure_ascii=False)
    if args.out is not None:
        args.out.write_text(line + "\n", encoding="utf-8")
    print(line)


if __name__ == "__main__":
    main()
