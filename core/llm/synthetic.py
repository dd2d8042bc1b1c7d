"""Random-weight chat models and locally built tokenizers, for tests and speed checks.

Nothing here is downloaded: tokenizers are built with the ``tokenizers`` library and models
from a config with random weights. Speed does not depend on the weights' values, and the
real transformers code path (chat template, ``generate``, streaming) runs unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

CHATML_TEMPLATE = (
    "{%- if tools %}<|im_start|>system\n"
    "{{ messages[0]['content'] if messages[0]['role'] == 'system' else 'You are a helpful "
    "assistant.' }}\n\n# Tools\n{% for tool in tools %}{{ tool | tojson }}\n{% endfor %}"
    "<|im_end|>\n{% endif %}"
    "{%- for m in messages %}{%- if not (tools and loop.first and m['role'] == 'system') %}"
    "<|im_start|>{{ m['role'] }}\n{{ m['content'] }}"
    "{%- for c in m.get('tool_calls') or [] %}<tool_call>{{ c['function'] | tojson }}"
    "</tool_call>{%- endfor %}<|im_end|>\n{% endif %}{%- endfor %}"
    "{%- if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
"""A Qwen-style ChatML template that also renders ``tools``."""

GLM_TEMPLATE = (
    "[gMASK]<sop>{%- for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}{%- endfor %}"
    "{%- if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
"""ChatGLM3's prompt layout (``[gMASK]<sop><|user|>\\n...<|assistant|>``) as a template."""

DEFAULT_CORPUS = (
    "Hello, how can I help you today? Your order has shipped and will arrive on Friday.",
    "You can return any item within 30 days. Refunds take 5 business days [1].",
    "Sorry, I could not find the answer in our documentation.",
    "您好，请问有什么可以帮您？您的订单已经发货，预计周五送达。",
    "七天无理由退货，退款将在五个工作日内到账【1】。抱歉，资料中没有找到答案。",
)


def tiny_chat_tokenizer(corpus: Sequence[str] = DEFAULT_CORPUS) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained on ``corpus`` with ChatML special tokens and template.

    Byte-level means any text (Chinese included) round-trips exactly through encode/decode.
    """
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus, trainer=trainer)
    return PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tokenizer,
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>"],
        chat_template=CHATML_TEMPLATE,
        clean_up_tokenization_spaces=False,
    )


def wide_chat_tokenizer(vocab_size: int) -> PreTrainedTokenizerFast:
    """A word-level tokenizer with exactly ``vocab_size`` tokens and ChatGLM3's role tokens.

    Every id the model can produce decodes to a visible word, so a random-weight model of a
    real vocabulary size streams text; CJK characters are one token each, as in ChatGLM3.
    """
    specials = ["<unk>", "<pad>", "</s>", "[gMASK]", "<sop>"]
    specials += [f"<|{role}|>" for role in ("system", "user", "assistant", "observation")]
    words = [chr(c) for c in range(0x21, 0x7F)] + list("，。？！：；“”‘’（）、《》【】…—")
    words += [chr(c) for c in range(0x4E00, 0x9FA6)]
    words += [f"w{i}" for i in range(max(0, vocab_size - len(specials) - len(words)))]
    vocab = {token: i for i, token in enumerate((specials + words)[:vocab_size])}
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Split(Regex(r"w\d+|\S"), "isolated")]
    )
    return PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tokenizer,
        unk_token="<unk>",
        pad_token="<pad>",
        eos_token="</s>",
        additional_special_tokens=specials[3:],
        chat_template=GLM_TEMPLATE,
        clean_up_tokenization_spaces=False,
    )


def random_chat_model(
    vocab_size: int,
    *,
    architecture: str = "llama",
    layers: int = 2,
    hidden: int = 32,
    heads: int = 4,
    kv_heads: int = 2,
    intermediate: int = 64,
    head_dim: int | None = None,
    seed: int = 0,
    device: str = "cpu",
    dtype: Any = None,
    **config: Any,
) -> Any:
    """A causal language model with random weights from a config (``llama`` or ``glm``).

    The weights are created directly on ``device`` in ``dtype`` (a 6B model never passes
    through CPU memory). Extra keyword arguments go to the config (``eos_token_id``...).
    """
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config.setdefault("pad_token_id", 0)
    model_config = AutoConfig.for_model(
        architecture,
        vocab_size=vocab_size,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        intermediate_size=intermediate,
        head_dim=head_dim or hidden // heads,
        max_position_embeddings=8192,
        **config,
    )
    torch.manual_seed(seed)
    with torch.device(device):
        return AutoModelForCausalLM.from_config(  # type: ignore[no-untyped-call]
            model_config, dtype=dtype or torch.float32
        )
