"""GPU check: a ChatGLM3-6B-sized model on CUDA through the transformers backend, timed.

No weights can be downloaded, and speed does not depend on their values, so the model is
built from a config of ChatGLM3-6B's shape (28 layers, hidden 4096, 32 heads with 2 key-value
groups, FFN 13696, vocabulary 65024) on transformers' native GLM architecture with random
fp16 weights, saved to a local folder and loaded by path through the backend's real loader
(``--in-memory`` skips the save/load and hands the model object over). Reports load time,
time to first token and tokens/s for one customer and for 16 concurrent customers, at each
``--batch-sizes`` value of ``KEFU_LLM__MAX_BATCH_SIZE`` (1 = customers queue one at a time).

    python benchmarks/gpu_check.py            # on the GPU machine, a few minutes
    python benchmarks/gpu_check.py --tiny     # same code path on CPU with a tiny model

Prints one JSON object as the last line; writes it to $OUT/gpu_check.json when OUT is set
and to benchmarks/results/gpu_check[_tiny].json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import transformers

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.config.llm import LLMSettings  # noqa: E402
from core.llm.base import ChatMessage  # noqa: E402
from core.llm.synthetic import random_chat_model, wide_chat_tokenizer  # noqa: E402
from core.llm.transformers_backend import TransformersBackend  # noqa: E402
from knowledge.prompts import build_grounded_messages  # noqa: E402
from knowledge.types import Passage  # noqa: E402

CHATGLM3_6B = {"layers": 28, "hidden": 4096, "heads": 32, "kv_heads": 2, "intermediate": 13696}
TINY = {"layers": 2, "hidden": 64, "heads": 4, "kv_heads": 2, "intermediate": 128}
BUDGET_S = 270.0
"""Stop starting new measurements after this long, so the whole check stays under 5 minutes."""

PASSAGE = (
    "退货政策：自签收之日起七天内，商品保持完好、配件齐全的，可申请七天无理由退货。"
    "退款将在仓库验收通过后三至五个工作日内原路退回。定制商品、贴身衣物和已激活的数码产品"
    "不支持无理由退货。如商品存在质量问题，运费由我们承担，请在申请时上传照片。"
)


def customer_prompt(number: int) -> list[ChatMessage]:
    """A realistic grounded prompt: rules, three passages, a short history, a question."""
    passages = [
        Passage(f"c{i}", PASSAGE * 2, f"faq/policy_{i}.md", "售后政策", None, "faq", 0.9)
        for i in range(3)
    ]
    history = [("user", "我上周买的鞋子能退吗？"), ("assistant", "可以，七天内无理由退货 [1]。")]
    question = f"第{number}位客户：退款多久能到账？运费谁出？"
    return build_grounded_messages(question, history, passages, "zh")


async def one_customer(backend: TransformersBackend, number: int, tokens: int) -> dict[str, float]:
    started = time.perf_counter()
    first: float | None = None
    async for _ in backend.stream(customer_prompt(number), max_tokens=tokens):
        if first is None:
            first = time.perf_counter() - started
    total = time.perf_counter() - started
    ttft = first if first is not None else total
    return {
        "ttft_s": ttft,
        "total_s": total,
        "tokens_per_s": (tokens - 1) / max(total - ttft, 1e-9),
    }


async def measure(backend: TransformersBackend, customers: int, tokens: int) -> dict[str, Any]:
    before = len(backend.batch_sizes)
    started = time.perf_counter()
    runs = await asyncio.gather(*(one_customer(backend, n, tokens) for n in range(customers)))
    wall = time.perf_counter() - started
    ttfts = sorted(r["ttft_s"] for r in runs)
    return {
        "customers": customers,
        "tokens_each": tokens,
        "wall_s": round(wall, 3),
        "ttft_s_median": round(statistics.median(ttfts), 4),
        "ttft_s_max": round(ttfts[-1], 4),
        "tokens_per_s_per_customer_median": round(
            statistics.median(r["tokens_per_s"] for r in runs), 2
        ),
        "tokens_per_s_total": round(customers * tokens / wall, 2),
        "batches": backend.batch_sizes[before:],
    }


def build(args: argparse.Namespace, device: str) -> tuple[Any, Any, dict[str, Any]]:
    shape = TINY if args.tiny else CHATGLM3_6B
    vocab = 22000 if args.tiny else 65024
    dtype = torch.float32 if args.tiny else torch.float16
    started = time.perf_counter()
    tokenizer = wide_chat_tokenizer(vocab)
    model = random_chat_model(
        vocab,
        architecture="glm",
        head_dim=128 if not args.tiny else None,
        device=device,
        dtype=dtype,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **shape,
    )
    info = {
        "architecture": type(model).__name__,
        "shape": shape,
        "vocab": vocab,
        "parameters_b": round(sum(p.numel() for p in model.parameters()) / 1e9, 3),
        "dtype": str(dtype).removeprefix("torch."),
        "build_s": round(time.perf_counter() - started, 2),
    }
    return model, tokenizer, info


def settings_for(model: str, device: str, batch: int, dtype: str) -> LLMSettings:
    return LLMSettings(
        backend="transformers",
        model=model,
        device=device,  # type: ignore[arg-type]
        dtype=dtype,  # type: ignore[arg-type]
        temperature=0.0,
        max_batch_size=batch,
        timeout_s=600.0,
        trust_remote_code=False,
    )


async def load_backend(
    args: argparse.Namespace, device: str, folder: Path, report: dict[str, Any]
) -> TransformersBackend:
    model, tokenizer, report["model"] = build(args, device)
    overrides = {"min_new_tokens": args.tokens}  # random weights: no early end of answer
    dtype = report["model"]["dtype"]
    if args.in_memory:
        backend = TransformersBackend(
            settings_for("in-memory", device, 1, dtype),
            model=model,
            tokenizer=tokenizer,
            generation_overrides=overrides,
        )
    else:
        started = time.perf_counter()
        tokenizer.save_pretrained(folder)
        model.save_pretrained(folder)
        report["model"]["save_s"] = round(time.perf_counter() - started, 2)
        del model
        if device == "cuda":
            torch.cuda.empty_cache()
        backend = TransformersBackend(
            settings_for(str(folder), device, 1, dtype), generation_overrides=overrides
        )
    await backend.load()
    report["model"]["load_s"] = round(backend.load_seconds or 0.0, 2)
    return backend


async def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    device = "cpu" if args.tiny else "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA device here; use --tiny to check the script on CPU")
    report: dict[str, Any] = {
        "device": torch.cuda.get_device_name(0) if device == "cuda" else f"CPU x{os.cpu_count()}",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokens_per_answer": args.tokens,
        "runs": [],
    }
    with tempfile.TemporaryDirectory(prefix="kefu-gpu-check-") as folder:
        backend = await load_backend(args, device, Path(folder), report)
        report["prompt_tokens"] = len(backend.encode_prompt(customer_prompt(0), None))
        await one_customer(backend, 0, 4)  # warm-up (CUDA kernels, allocator)
        report["single"] = await measure(backend, 1, args.tokens)
        for batch in args.batch_sizes:
            if time.perf_counter() - started > BUDGET_S:
                report["skipped_batch_sizes"] = [b for b in args.batch_sizes if b >= batch]
                break
            backend.set_max_batch_size(batch)  # same loaded model, another batch limit
            result = await measure(backend, args.customers, args.tokens)
            report["runs"].append({"max_batch_size": batch, **result})
        await backend.close()
    if device == "cuda":
        report["peak_gpu_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    report["total_s"] = round(time.perf_counter() - started, 1)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="tiny model on CPU (script check)")
    parser.add_argument("--in-memory", action="store_true", help="skip saving and loading")
    parser.add_argument("--tokens", type=int, default=None, help="tokens per answer")
    parser.add_argument("--customers", type=int, default=16)
    parser.add_argument(
        "--batch-sizes", type=lambda s: [int(x) for x in s.split(",")], default=[1, 8, 16]
    )
    args = parser.parse_args()
    args.tokens = args.tokens or (8 if args.tiny else 128)
    transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    report = asyncio.run(run(args))
    line = json.dumps(report, ensure_ascii=False)
    if os.environ.get("OUT"):
        Path(os.environ["OUT"], "gpu_check.json").write_text(line + "\n", encoding="utf-8")
    results = ROOT / "benchmarks" / "results"
    results.mkdir(parents=True, exist_ok=True)
    name = "gpu_check_tiny.json" if args.tiny else "gpu_check.json"
    (results / name).write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    print(line)


if __name__ == "__main__":
    main()
