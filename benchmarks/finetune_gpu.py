"""GPU LoRA fine-tuning benchmark: Kefu's training loop on a model of ChatGLM3-6B's size.

No weights can be downloaded and step time does not depend on their values, so the model is
built from a config of ChatGLM3-6B's shape (28 layers, hidden 4096, 32 heads with 2 key-value
groups, FFN 13696, vocabulary 65024) on transformers' native GLM architecture, with random
bf16 weights created directly on the GPU. It is wrapped with peft LoRA exactly as
``kefu finetune lora`` does (``bot.feedback.finetune.add_lora``) and trained with the same
loop (``bot.feedback.finetune.train``) on random token sequences whose first half is masked
like a prompt. Reports the time per optimiser step, tokens per second and peak GPU memory.

    python benchmarks/finetune_gpu.py                 # on the GPU machine, about a minute
    python benchmarks/finetune_gpu.py --tiny          # same code path on CPU with a tiny model

Prints one JSON object as the last line; writes it to $OUT/finetune_gpu.json when OUT is set
and to benchmarks/results/finetune_gpu[_tiny].json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.feedback.finetune import Encoded, add_lora, train  # noqa: E402

CHATGLM3_6B = {
    "layers": 28,
    "hidden": 4096,
    "heads": 32,
    "kv_heads": 2,
    "intermediate": 13696,
    "vocab": 65024,
}
TINY = {"layers": 2, "hidden": 64, "heads": 4, "kv_heads": 2, "intermediate": 128, "vocab": 512}


def build_model(shape: dict[str, int], device: torch.device, dtype: torch.dtype) -> Any:
    """A random-weight GLM causal LM of ``shape``, created on ``device`` in ``dtype``."""
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.for_model(
        "glm",
        vocab_size=shape["vocab"],
        hidden_size=shape["hidden"],
        num_hidden_layers=shape["layers"],
        num_attention_heads=shape["heads"],
        num_key_value_heads=shape["kv_heads"],
        intermediate_size=shape["intermediate"],
        head_dim=shape["hidden"] // shape["heads"],
        max_position_embeddings=8192,
        pad_token_id=0,
        eos_token_id=2,
    )
    torch.manual_seed(0)
    with torch.device(device):
        return AutoModelForCausalLM.from_config(config, dtype=dtype)  # type: ignore[no-untyped-call]


def synthetic_examples(count: int, length: int, vocab: int) -> list[Encoded]:
    """Random token sequences; the first half is the prompt (masked out of the loss)."""
    generator = torch.Generator().manual_seed(0)
    examples = []
    for _ in range(count):
        ids = torch.randint(3, vocab, (length,), generator=generator).tolist()
        half = length // 2
        examples.append(Encoded(ids, [-100] * half + ids[half:]))
    return examples


def measure(args: argparse.Namespace) -> dict[str, Any]:
    shape = TINY if args.tiny else CHATGLM3_6B
    device = torch.device("cpu" if args.tiny or not torch.cuda.is_available() else "cuda")
    dtype = torch.float32 if device.type == "cpu" else torch.bfloat16
    started = time.perf_counter()
    model = build_model(shape, device, dtype)
    total_params = sum(p.numel() for p in model.parameters())
    model = add_lora(model, rank=args.rank, gradient_checkpointing=args.gradient_checkpointing)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    setup_s = time.perf_counter() - started
    examples = synthetic_examples(args.batch_size * 8, args.seq_len, shape["vocab"])
    stamps: list[float] = []

    def on_step(step: int, loss: float) -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()
        stamps.append(time.perf_counter())

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    stamps.append(time.perf_counter())
    stats = train(
        model,
        examples,
        pad_id=0,
        epochs=10**6,
        lr=2e-4,
        batch_size=args.batch_size,
        max_steps=args.steps,
        on_step=on_step,
    )
    warmup = min(args.warmup, max(len(stamps) - 2, 0))
    step_s = [b - a for a, b in zip(stamps[warmup:], stamps[warmup + 1 :], strict=False)]
    ordered = sorted(step_s)
    median = statistics.median(ordered)
    return {
        "benchmark": "finetune_gpu",
        "device": torch.cuda.get_device_name()
        if device.type == "cuda"
        else f"cpu ({platform.machine()}, {torch.get_num_threads()} threads)",
        "torch": torch.__version__,
        "transformers": __import__("transformers").__version__,
        "peft": __import__("peft").__version__,
        "model": {"architecture": "glm", **shape, "dtype": str(dtype).removeprefix("torch.")},
        "params_total": total_params,
        "params_trainable": trainable,
        "lora_rank": args.rank,
        "target_modules": sorted(model.peft_config["default"].target_modules),
        "gradient_checkpointing": args.gradient_checkpointing,
        "batch_size": args.batch_size,
        "seq_len": args.seq_len,
        "steps": stats.steps,
        "timed_steps": len(step_s),
        "setup_s": round(setup_s, 2),
        "step_ms_mean": round(1000 * statistics.fmean(ordered), 2),
        "step_ms_median": round(1000 * median, 2),
        "step_ms_p90": round(1000 * ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 2),
        "tokens_per_s": round(args.batch_size * args.seq_len / median, 1),
        "peak_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2)
        if device.type == "cuda"
        else None,
        "loss_first": stats.losses[0],
        "loss_last": stats.losses[-1],
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--tiny", action="store_true", help="Tiny model on CPU (smoke test).")
    parser.add_argument("--steps", type=int, default=None, help="Optimiser steps (200; tiny 6).")
    parser.add_argument("--warmup", type=int, default=None, help="Untimed first steps (10; 2).")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--seq-len", type=int, default=None, help="Tokens per example (512; 32).")
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--gradient-checkpointing", action="store_true")
    parser.add_argument("--out", type=Path, default=None, help="Where to write the JSON.")
    args = parser.parse_args(argv)
    args.steps = args.steps or (6 if args.tiny else 200)
    args.warmup = args.warmup if args.warmup is not None else (2 if args.tiny else 10)
    args.seq_len = args.seq_len or (32 if args.tiny else 512)
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    result = measure(args)
    text = json.dumps(result, ensure_ascii=False)
    targets = [args.out] if args.out else []
    if not args.out:
        name = "finetune_gpu_tiny.json" if args.tiny else "finetune_gpu.json"
        targets.append(ROOT / "benchmarks" / "results" / name)
        if os.environ.get("OUT"):
            targets.append(Path(os.environ["OUT"]) / "finetune_gpu.json")
    for target in targets:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(text)
    return result


if __name__ == "__main__":
    main()
