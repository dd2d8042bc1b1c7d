"""LoRA fine-tuning on a tiny local model: training changes the answers, the adapter loads."""

from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
import typer
from peft import PeftModel
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    OPTConfig,
    OPTForCausalLM,
)
from typer.testing import CliRunner

from bot.feedback.cli import finetune_app
from bot.feedback.finetune import encode, generate, load_split, target_modules_for
from tests.bot.feedback.tiny_model import build_tiny_model

ROOT = Path(__file__).resolve().parents[3]
PAIRS = [
    ("怎么开发票？", "在订单详情页点击申请发票即可。"),
    ("How long is the warranty?", "Two years for laptops, one year for phones."),
    ("支持七天无理由退货吗？", "支持，签收后7天内可无理由退货。"),
    ("Do you ship abroad?", "Yes, we ship to 30 countries."),
]
ALL_LINEAR = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj"


def chatglm3_line(question: str, answer: str) -> str:
    turns = [
        {"role": "system", "content": "你是客服"},
        {"role": "user", "content": question},
        {"role": "assistant", "content": answer},
    ]
    return json.dumps({"conversations": turns}, ensure_ascii=False)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One LoRA run through `kefu finetune lora`, shared by the tests below."""
    folder = tmp_path_factory.mktemp("finetune")
    data = folder / "data"
    data.mkdir()
    lines = [chatglm3_line(q, a) for q, a in PAIRS]
    (data / "train.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (data / "test.jsonl").write_text("\n".join(lines[:2]) + "\n", encoding="utf-8")
    base = build_tiny_model(folder / "base", [q + a for q, a in PAIRS] * 5)
    app = typer.Typer()
    app.add_typer(finetune_app, name="finetune")
    args = ["finetune", "lora", "--base", str(base), "--data", str(data)]
    args += ["--out", str(folder / "adapter"), "--epochs", "50", "--lr", "0.03", "--rank", "8"]
    args += ["--max-steps", "8", "--max-new-tokens", "8", "--target-modules", ALL_LINEAR]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output.strip().splitlines()[-1])
    return {"base": base, "data": data, "adapter": folder / "adapter", "metrics": metrics}


def test_the_adapter_and_its_metrics_are_saved(trained: dict[str, Any]) -> None:
    adapter: Path = trained["adapter"]
    assert (adapter / "adapter_config.json").exists()
    assert (adapter / "adapter_model.safetensors").exists()
    saved = json.loads((adapter / "metrics.json").read_text())
    assert saved == trained["metrics"]
    test = saved["test"]
    assert test["examples"] == 2
    assert set(test["before"]) == set(test["after"]) == {"rouge1", "rouge2", "rougeL", "bleu"}
    assert saved["train"]["steps"] == 8


def test_training_lowers_the_loss_on_the_training_answers(trained: dict[str, Any]) -> None:
    train = trained["metrics"]["train"]
    assert train["loss_last"] < train["loss_first"] * 0.8


def test_the_adapter_loads_like_the_backend_loads_it_and_changes_the_answers(
    trained: dict[str, Any],
) -> None:
    tokenizer = AutoTokenizer.from_pretrained(trained["base"])
    conversations = load_split(trained["data"], "train")

    base: Any = AutoModelForCausalLM.from_pretrained(trained["base"])
    base.eval()
    before = generate(base, tokenizer, conversations, 8)
    with warnings.catch_warnings():
        # peft 0.21 reads a property transformers 5 deprecated.
        warnings.filterwarnings("ignore", "`is_gradient_checkpointing`", FutureWarning)
        adapted = PeftModel.from_pretrained(base, str(trained["adapter"])).eval()
    after = generate(adapted, tokenizer, conversations, 8)

    assert before != after
    with torch.no_grad():
        ids = tokenizer("<|user|>\n怎么开发票？<|end|>\n<|assistant|>\n", return_tensors="pt")
        with adapted.disable_adapter():
            plain = adapted(**ids).logits
        tuned = adapted(**ids).logits
    assert not torch.allclose(plain, tuned)


def test_answers_are_learned_with_the_prompt_masked(trained: dict[str, Any]) -> None:
    tokenizer = AutoTokenizer.from_pretrained(trained["base"])
    [messages, *_] = load_split(trained["data"], "train")
    encoded = encode(tokenizer, messages, max_length=512)
    learned = [
        t for t, label in zip(encoded.input_ids, encoded.labels, strict=True) if label != -100
    ]
    assert tokenizer.decode(learned) == "在订单详情页点击申请发票即可。<|end|>\n"
    short = encode(tokenizer, messages, max_length=12)
    assert len(short.input_ids) == 12 and short.labels[-1] != -100


def tiny(config: Any, model_class: Any) -> torch.nn.Module:
    return model_class(config)  # type: ignore[no-any-return]


def test_lora_targets_follow_the_architecture() -> None:
    small: dict[str, Any] = {"num_hidden_layers": 1, "num_attention_heads": 2, "vocab_size": 64}
    llama = tiny(LlamaConfig(hidden_size=16, intermediate_size=32, **small), LlamaForCausalLM)
    gpt2 = tiny(GPT2Config(n_embd=16, n_layer=1, n_head=2, vocab_size=64), GPT2LMHeadModel)
    opt = tiny(
        OPTConfig(hidden_size=16, ffn_dim=32, word_embed_proj_dim=16, **small), OPTForCausalLM
    )
    assert target_modules_for(llama) == ["q_proj", "v_proj"]
    assert target_modules_for(gpt2) == ["c_attn"]
    # An architecture without a recipe: every linear layer but the output head.
    assert target_modules_for(opt) == ["fc1", "fc2", "k_proj", "out_proj", "q_proj", "v_proj"]


def test_the_gpu_benchmark_runs_its_tiny_variant(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "finetune_gpu", ROOT / "benchmarks/finetune_gpu.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    result = module.main(["--tiny", "--steps", "4", "--out", str(tmp_path / "r.json")])

    assert result["steps"] == 4 and result["timed_steps"] == 2
    assert result["step_ms_median"] > 0 and result["tokens_per_s"] > 0
    assert result["target_modules"] == ["q_proj", "v_proj"]
    assert json.loads((tmp_path / "r.json").read_text()) == result
