"""Check a ChatGLM3 folder (THUDM/chatglm3-6b or a fine-tune) through Kefu's transformers backend.

Weights cannot be downloaded here, so this runs where the model folder is: it loads the folder
with its own code (``trust_remote_code``, made to work on transformers 5 by
:mod:`core.llm.chatglm3_compat`), then checks and times what the bot uses: a chat answer in
ChatGLM3's role format, streaming, a function call to ``order_status`` in ChatGLM3's native
format with the result sent back as an observation, and concurrent customers in one batch.

    python benchmarks/chatglm3_check.py /models/chatglm3-6b [--device cuda] [--out FILE]

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


async def run(folder: str, device: str, max_new_tokens: int) -> dict[str, Any]:
    settings = LLMSettings(
        backend="transformers",
        model=folder,
        device=device,  # type: ignore[arg-type]
        temperature=0.0,
        max_new_tokens=max_new_tokens,
        timeout_s=600,
    )
    backend = TransformersBackend(settings)
    _, load_s = await timed(backend.load())
    answer, answer_s = await timed(
        backend.complete([SYSTEM, ChatMessage("user", QUESTIONS[0])], max_tokens=max_new_tokens)
    )
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
    batch = [backend.complete([SYSTEM, ChatMessage("user", q)]) for q in QUESTIONS]
    answers, batch_s = await timed(asyncio.gather(*batch))
    await backend.close()
    return {
        "folder": folder,
        "transformers": transformers.__version__,
        "device": device,
        "load_s": round(load_s, 2),
        "answer": answer.text,
        "answer_s": round(answer_s, 2),
        "ttft_s": round(ttft, 3),
        "tool_calls": calls,
        "answer_after_tool": tooled.text,
        "batch_answers": [a.text for a in answers],
        "batch_s": round(batch_s, 2),
        "batch_sizes": backend.batch_sizes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="a ChatGLM3 model folder (with its .py files)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = asyncio.run(run(args.folder, args.device, args.max_new_tokens))
    line = json.dumps(result, ensure_ascii=False)
    if args.out is not None:
        args.out.write_text(line + "\n", encoding="utf-8")
    print(line)


if __name__ == "__main__":
    main()
