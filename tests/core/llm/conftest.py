"""Tiny random chat models built locally (no downloads) for the transformers backend tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import BatchEncoding, PreTrainedTokenizerFast

from core.llm.synthetic import DEFAULT_CORPUS, random_chat_model, tiny_chat_tokenizer

GLM3_SPECIALS = ["<unk>", "</s>", "[gMASK]", "<sop>", "<|system|>", "<|user|>", "<|assistant|>"]
GLM3_SPECIALS += ["<|observation|>"]


def silence_special_tokens(model: Any, tokenizer: Any) -> None:
    """Zeroes the output rows of special tokens so greedy decoding never picks them: the
    random model then always runs to ``max_new_tokens``, which the tests can rely on."""
    with torch.no_grad():
        for token_id in tokenizer.all_special_ids:
            model.lm_head.weight[token_id] = 0


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer random Llama with a byte-level BPE tokenizer and a ChatML template, saved the
    way a downloaded model folder looks."""
    folder = tmp_path_factory.mktemp("tiny-chat-model")
    tokenizer = tiny_chat_tokenizer()
    model = random_chat_model(
        len(tokenizer), eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id
    )
    silence_special_tokens(model, tokenizer)
    tokenizer.save_pretrained(folder)
    model.save_pretrained(folder)
    return folder


class GLM3StyleTokenizer(PreTrainedTokenizerFast):
    """Mimics ChatGLM3's tokenizer API (``build_chat_input``, ``get_command``) and its prompt
    layout, as its remote code does, on a tiny local vocabulary."""

    def get_command(self, token: str) -> int:
        return cast(int, self.convert_tokens_to_ids(token))

    def _message(self, role: str, metadata: str, content: str) -> list[int]:
        head = [self.get_command(f"<|{role}|>"), *self.encode(f"{metadata}\n")]
        return head + list(self.encode(content))

    def build_chat_input(
        self, query: str, history: list[dict[str, Any]] | None = None, role: str = "user"
    ) -> BatchEncoding:
        ids = [self.get_command("[gMASK]"), self.get_command("<sop>")]
        for item in history or []:
            content = item["content"]
            if item["role"] == "system" and "tools" in item:
                content += "\n" + json.dumps(item["tools"], indent=4, ensure_ascii=False)
            ids += self._message(item["role"], item.get("metadata", ""), content)
        ids += [*self._message(role, "", query), self.get_command("<|assistant|>")]
        return BatchEncoding({"input_ids": torch.tensor([ids])})


def glm3_style_tokenizer() -> GLM3StyleTokenizer:
    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=GLM3_SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(DEFAULT_CORPUS, trainer=trainer)
    return GLM3StyleTokenizer(  # type: ignore[no-untyped-call]
        tokenizer_object=core,
        unk_token="<unk>",
        eos_token="</s>",
        pad_token="<unk>",
        additional_special_tokens=GLM3_SPECIALS[2:],
        clean_up_tokenization_spaces=False,
    )
