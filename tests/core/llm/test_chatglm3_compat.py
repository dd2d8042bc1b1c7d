"""ChatGLM3's tokenizer code was written for transformers 4; our patch makes it work on 5.

The tokenizer below reproduces the two parts of ChatGLM3's ``tokenization_chatglm.py`` that
transformers 5 breaks: a ``_pad`` override without ``padding_side`` and a ``build_chat_input``
that calls the removed ``batch_encode_plus``. (ChatGLM3's own files cannot be vendored here;
the model-side fixes were checked against them separately, see core/llm/chatglm3_compat.py.)
"""

from __future__ import annotations

from typing import Any

import pytest
from transformers import PreTrainedTokenizer
from transformers.utils import PaddingStrategy

from core.llm.chatglm3_compat import patch_chatglm3_tokenizer

USER, ASSISTANT = "<|user|>", "<|assistant|>"


class Transformers4GLM3Tokenizer(PreTrainedTokenizer):
    """Character-level, left-padding, with ChatGLM3's transformers-4 method signatures."""

    def __init__(self, **kwargs: Any) -> None:
        self._vocab = {"<pad>": 0, "<unk>": 1, USER: 2, ASSISTANT: 3}
        for char in "abcdefghijklmnopqrstuvwxyz 你好订单":
            self._vocab.setdefault(char, len(self._vocab))
        super().__init__(pad_token="<pad>", unk_token="<unk>", padding_side="left", **kwargs)

    @property
    def vocab_size(self) -> int:
        return len(self._vocab)

    def get_vocab(self) -> dict[str, int]:
        return dict(self._vocab)

    def _tokenize(self, text: str, **kwargs: Any) -> list[str]:
        return list(text)

    def _convert_token_to_id(self, token: str) -> int:
        return self._vocab.get(token, 1)

    def _convert_id_to_token(self, index: int) -> str:
        return {v: k for k, v in self._vocab.items()}.get(index, "<unk>")

    def _pad(  # type: ignore[override]  # ChatGLM3's signature, without padding_side
        self,
        encoded_inputs: Any,
        max_length: int | None = None,
        padding_strategy: PaddingStrategy = PaddingStrategy.DO_NOT_PAD,
        pad_to_multiple_of: int | None = None,
        return_attention_mask: bool | None = None,
    ) -> Any:
        ids = encoded_inputs["input_ids"]
        mask = encoded_inputs.get("attention_mask", [1] * len(ids))
        missing = (max_length or 0) - len(ids)
        if padding_strategy != PaddingStrategy.DO_NOT_PAD and missing > 0:
            ids, mask = [0] * missing + ids, [0] * missing + mask
        encoded_inputs["input_ids"], encoded_inputs["attention_mask"] = ids, mask
        return encoded_inputs

    def build_chat_input(self, query: str, role: str = "user") -> Any:
        ids = [self._vocab[USER], *self.convert_tokens_to_ids(list(query)), self._vocab[ASSISTANT]]
        return self.batch_encode_plus([ids], return_tensors="pt", is_split_into_words=True)


def fresh_tokenizer() -> Transformers4GLM3Tokenizer:
    """An instance of a new subclass: the patch changes the class, tests must not share it."""
    return type("ChatGLMTokenizer", (Transformers4GLM3Tokenizer,), {})()


def test_transformers_5_breaks_the_unpatched_tokenizer() -> None:
    tokenizer = fresh_tokenizer()
    with pytest.raises(TypeError, match="padding_side"):
        tokenizer.encode("ab")
    with pytest.raises(AttributeError, match="batch_encode_plus"):
        tokenizer.build_chat_input("你好")


def test_patched_tokenizer_encodes_builds_chat_input_and_pads_left() -> None:
    tokenizer = fresh_tokenizer()
    patch_chatglm3_tokenizer(tokenizer)
    patch_chatglm3_tokenizer(tokenizer)  # idempotent

    assert tokenizer.encode("ab") == [4, 5]
    prompt = tokenizer.build_chat_input("你好")
    assert prompt["input_ids"].tolist() == [[2, *tokenizer.convert_tokens_to_ids(["你", "好"]), 3]]
    batch = tokenizer(["ab", "abc"], padding=True)
    assert batch["input_ids"] == [[0, 4, 5], [4, 5, 6]]
    assert batch["attention_mask"] == [[0, 1, 1], [1, 1, 1]]
