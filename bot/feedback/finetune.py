"""``kefu finetune lora``: LoRA fine-tuning of a local causal LM on an exported dataset.

The base model is loaded with transformers (never downloaded: a local folder or a cached id),
wrapped with peft LoRA on the attention projections of its architecture, trained on the
train split with the loss on the answers only, and evaluated on the test split with ROUGE and
BLEU before and after. The adapter is saved with ``save_pretrained``, so the transformers
backend loads it with ``PeftModel.from_pretrained(model, adapter_dir)`` (``llm.adapter``).

This module needs only torch, transformers, peft and structlog at import time, so the GPU
benchmark can run it on a machine without the rest of Kefu's dependencies.
"""

from __future__ import annotations

import json
import math
import random
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import structlog
import torch

from bot.feedback.formats import messages_of

log = structlog.get_logger(__name__)

TARGET_MODULES: dict[str, list[str]] = {
    "chatglm": ["query_key_value"],
    "glm": ["q_proj", "v_proj"],
    "glm4": ["q_proj", "v_proj"],
    "llama": ["q_proj", "v_proj"],
    "qwen2": ["q_proj", "v_proj"],
    "qwen3": ["q_proj", "v_proj"],
    "mistral": ["q_proj", "v_proj"],
    "gemma": ["q_proj", "v_proj"],
    "gemma2": ["q_proj", "v_proj"],
    "baichuan": ["W_pack"],
    "gpt2": ["c_attn"],
    "gpt_neox": ["query_key_value"],
    "bloom": ["query_key_value"],
    "falcon": ["query_key_value"],
}
"""LoRA targets per ``config.model_type``: the attention projections, as in each model's own
fine-tuning recipes (ChatGLM3's demo targets ``query_key_value``)."""

IGNORE = -100
FALLBACK_TEMPLATE = "<|{role}|>\n{content}\n"
"""Prompt layout for tokenizers without a chat template (ChatGLM3's role tags)."""

Dtype = Literal["auto", "float32", "float16", "bfloat16"]


@dataclass(slots=True, frozen=True)
class LoraOptions:
    """What to train, on what, and how.

    ``max_steps`` caps the optimiser steps (epochs are cut short); ``eval_limit`` caps how
    many test examples are generated for the before/after metrics.
    """

    base: str
    data: Path
    out: Path
    epochs: int = 3
    lr: float = 2e-4
    rank: int = 8
    alpha: int | None = None
    dropout: float = 0.05
    max_steps: int | None = None
    batch_size: int = 4
    max_length: int = 512
    max_new_tokens: int = 128
    eval_limit: int = 50
    target_modules: tuple[str, ...] | None = None
    device: str = "auto"
    dtype: Dtype = "auto"
    trust_remote_code: bool = False
    gradient_checkpointing: bool = False
    seed: int = 0


@dataclass(slots=True, frozen=True)
class Encoded:
    """One training example as token ids; ``labels`` is ``IGNORE`` outside the answer."""

    input_ids: list[int]
    labels: list[int]


@dataclass(slots=True)
class TrainStats:
    examples: int
    steps: int
    seconds: float
    losses: list[float] = field(default_factory=list)

    @property
    def step_seconds(self) -> float:
        return self.seconds / self.steps if self.steps else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "examples": self.examples,
            "steps": self.steps,
            "seconds": round(self.seconds, 3),
            "step_seconds": round(self.step_seconds, 4),
            "loss_first": self.losses[0] if self.losses else None,
            "loss_last": self.losses[-1] if self.losses else None,
        }


def target_modules_for(model: torch.nn.Module) -> list[str]:
    """The LoRA target module names for ``model``'s architecture.

    Known architectures use their attention projections; any other model gets every linear
    layer except the output head (found by walking the modules).
    """
    config = getattr(model, "config", None)
    model_type = str(getattr(config, "model_type", ""))
    if model_type in TARGET_MODULES:
        return TARGET_MODULES[model_type]
    from transformers.pytorch_utils import Conv1D

    names = {
        name.rsplit(".", 1)[-1]
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear | Conv1D) and name
    }
    names -= {"lm_head", "embed_out", "output_layer", "score"}
    if not names:
        raise ValueError(f"no linear layers found to adapt in {type(model).__name__}")
    return sorted(names)


def load_split(data_dir: Path, name: str) -> list[list[dict[str, str]]]:
    """Chat turns of every line of ``<data_dir>/<name>.jsonl`` (any exported format).

    Raises:
        FileNotFoundError: if the split file is missing.
    """
    path = data_dir / f"{name}.jsonl"
    with path.open(encoding="utf-8") as handle:
        return [messages_of(json.loads(line)) for line in handle if line.strip()]


def render_prompt(tokenizer: Any, messages: Sequence[dict[str, str]]) -> str:
    """The text the model sees before it answers the last user turn."""
    if getattr(tokenizer, "chat_template", None):
        return str(
            tokenizer.apply_chat_template(
                list(messages), tokenize=False, add_generation_prompt=True
            )
        )
    turns = "".join(FALLBACK_TEMPLATE.format(**m) for m in messages)
    return turns + "<|assistant|>\n"


def encode(tokenizer: Any, messages: Sequence[dict[str, str]], max_length: int) -> Encoded:
    """Token ids of a conversation whose last turn is the answer to learn.

    The answer is what the chat template renders after the prompt (its end-of-turn tokens
    included), followed by the end-of-sequence token unless the template already wrote it.
    Long examples lose their oldest prompt tokens, never the answer.
    """
    prompt_text = render_prompt(tokenizer, messages[:-1])
    answer = messages[-1]["content"]
    target_text = answer
    if getattr(tokenizer, "chat_template", None):
        full = str(tokenizer.apply_chat_template(list(messages), tokenize=False))
        if full.startswith(prompt_text):
            target_text = full[len(prompt_text) :]
    prompt = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    target = tokenizer(target_text, add_special_tokens=False)["input_ids"]
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in target:
        target = [*target, tokenizer.eos_token_id]  # the model must learn where to stop
    target = target[:max_length]
    prompt = prompt[-(max_length - len(target)) :] if len(target) < max_length else []
    return Encoded(list(prompt) + list(target), [IGNORE] * len(prompt) + list(target))


def _batches(
    features: Sequence[Encoded], batch_size: int, pad_id: int, generator: random.Random
) -> list[dict[str, torch.Tensor]]:
    order = list(range(len(features)))
    generator.shuffle(order)
    batches = []
    for start in range(0, len(order), batch_size):
        chunk = [features[i] for i in order[start : start + batch_size]]
        width = max(len(f.input_ids) for f in chunk)
        ids = [f.input_ids + [pad_id] * (width - len(f.input_ids)) for f in chunk]
        labels = [f.labels + [IGNORE] * (width - len(f.labels)) for f in chunk]
        mask = [[1] * len(f.input_ids) + [0] * (width - len(f.input_ids)) for f in chunk]
        batches.append(
            {
                "input_ids": torch.tensor(ids),
                "labels": torch.tensor(labels),
                "attention_mask": torch.tensor(mask),
            }
        )
    return batches


def train(
    model: torch.nn.Module,
    features: Sequence[Encoded],
    *,
    pad_id: int,
    epochs: int,
    lr: float,
    batch_size: int,
    max_steps: int | None = None,
    seed: int = 0,
    on_step: Any = None,
) -> TrainStats:
    """Trains the model's trainable parameters (the LoRA weights) with AdamW.

    The learning rate warms up over the first 5% of steps and decays linearly to zero.

    Args:
        model: a peft model (only adapter weights require gradients).
        features: encoded examples.
        pad_id: token id used for padding.
        epochs: passes over the data (cut short by ``max_steps``).
        lr: peak learning rate.
        batch_size: examples per step.
        max_steps: at most this many optimiser steps.
        seed: shuffling seed.
        on_step: called as ``on_step(step, loss)`` after each step (benchmarks time it).
    """
    if not features:
        raise ValueError("no training examples: export a dataset with a train split first")
    device = next(model.parameters()).device
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr)
    per_epoch = math.ceil(len(features) / batch_size)
    total = per_epoch * epochs if max_steps is None else min(per_epoch * epochs, max_steps)
    warmup = max(1, total // 20)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total - step) / total))
    )
    stats = TrainStats(examples=len(features), steps=0, seconds=0.0)
    generator = random.Random(seed)
    model.train()
    started = time.perf_counter()
    while stats.steps < total:
        for batch in _batches(features, batch_size, pad_id, generator):
            loss = model(**{k: v.to(device) for k, v in batch.items()}).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            stats.steps += 1
            stats.losses.append(round(float(loss.detach()), 5))
            if on_step is not None:
                on_step(stats.steps, stats.losses[-1])
            if stats.steps >= total:
                break
    stats.seconds = time.perf_counter() - started
    model.eval()
    return stats


@torch.no_grad()
def generate(
    model: Any, tokenizer: Any, conversations: Sequence[Sequence[dict[str, str]]], max_new: int
) -> list[str]:
    """Greedy answers to the last user turn of each conversation (the answer turn removed)."""
    device = next(model.parameters()).device
    answers = []
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    for messages in conversations:
        prompt = render_prompt(tokenizer, messages[:-1])
        ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt").to(device)
        output = model.generate(**ids, max_new_tokens=max_new, do_sample=False, pad_token_id=pad_id)
        new_tokens = output[0, ids["input_ids"].shape[1] :]
        answers.append(str(tokenizer.decode(new_tokens, skip_special_tokens=True)).strip())
    return answers


def evaluate(
    model: Any, tokenizer: Any, conversations: Sequence[Sequence[dict[str, str]]], max_new: int
) -> dict[str, float]:
    """ROUGE-1/2/L F1 and BLEU of greedy answers against the gold answers."""
    if not conversations:
        return {}
    references = [messages[-1]["content"] for messages in conversations]
    candidates = generate(model, tokenizer, conversations, max_new)
    from core.metrics import bleu, mean_rouge  # rouge-score, sacrebleu: only when evaluating

    scores = {str(name): value for name, value in mean_rouge(references, candidates).items()}
    scores["bleu"] = bleu(references, candidates)
    return {name: round(value, 4) for name, value in scores.items()}


def pick_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def pick_dtype(dtype: Dtype, device: torch.device) -> torch.dtype:
    if dtype != "auto":
        return {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[
            dtype
        ]
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def add_lora(
    model: Any,
    *,
    rank: int = 8,
    alpha: int | None = None,
    dropout: float = 0.05,
    target_modules: Sequence[str] | None = None,
    gradient_checkpointing: bool = False,
) -> Any:
    """``model`` wrapped with fresh LoRA weights (only they are trainable).

    Args:
        model: a transformers causal LM.
        rank: LoRA rank.
        alpha: LoRA scaling numerator (twice the rank by default).
        dropout: dropout on the LoRA input.
        target_modules: module names to adapt; by architecture when None.
        gradient_checkpointing: recompute activations in the backward pass (less memory).
    """
    from peft import LoraConfig, TaskType, get_peft_model

    config = LoraConfig(
        task_type=TaskType.CAUSAL_LM,
        r=rank,
        lora_alpha=alpha or 2 * rank,
        lora_dropout=dropout,
        target_modules=list(target_modules or target_modules_for(model)),
    )
    if gradient_checkpointing:
        # Renamed in transformers 5.2x; older 5.x releases only have the old name.
        enable = getattr(model, "activation_checkpointing_enable", None)
        (enable or model.gradient_checkpointing_enable)()
        model.enable_input_require_grads()
    with warnings.catch_warnings():
        # peft reads a property transformers 5 deprecated; nothing for us to change.
        warnings.filterwarnings("ignore", "`is_gradient_checkpointing`", FutureWarning)
        return get_peft_model(model, config)


def run_lora(options: LoraOptions) -> dict[str, Any]:
    """Loads, evaluates, trains, evaluates again and saves; returns the metrics it wrote.

    Writes ``adapter_config.json`` and ``adapter_model.safetensors`` (the peft adapter) and
    ``metrics.json`` into ``options.out``.

    Raises:
        FileNotFoundError: if the dataset's train split is missing.
        OSError: if the base model is not available locally.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(options.seed)
    train_set = load_split(options.data, "train")
    test_path = options.data / "test.jsonl"
    test_set = load_split(options.data, "test")[: options.eval_limit] if test_path.exists() else []
    device = pick_device(options.device)
    tokenizer = AutoTokenizer.from_pretrained(
        options.base, trust_remote_code=options.trust_remote_code, local_files_only=True
    )
    model: Any = AutoModelForCausalLM.from_pretrained(
        options.base,
        trust_remote_code=options.trust_remote_code,
        local_files_only=True,
        dtype=pick_dtype(options.dtype, device),
    )
    model = model.to(device)
    model.eval()
    log.info("finetune.loaded", base=options.base, device=str(device), train=len(train_set))
    before = evaluate(model, tokenizer, test_set, options.max_new_tokens)
    model = add_lora(
        model,
        rank=options.rank,
        alpha=options.alpha,
        dropout=options.dropout,
        target_modules=options.target_modules,
        gradient_checkpointing=options.gradient_checkpointing,
    )
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    features = [encode(tokenizer, m, options.max_length) for m in train_set]
    stats = train(
        model,
        features,
        pad_id=pad_id,
        epochs=options.epochs,
        lr=options.lr,
        batch_size=options.batch_size,
        max_steps=options.max_steps,
        seed=options.seed,
    )
    after = evaluate(model, tokenizer, test_set, options.max_new_tokens)
    options.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(options.out))
    metrics = {
        "base": options.base,
        "data": str(options.data),
        "adapter": str(options.out),
        "target_modules": sorted(model.peft_config["default"].target_modules),
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(options).items()},
        "train": stats.to_json(),
        "test": {"examples": len(test_set), "before": before, "after": after},
    }
    (options.out / "metrics.json").write_text(
        json.dumps(metrics, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    log.info("finetune.finished", steps=stats.steps, out=str(options.out))
    return metrics
