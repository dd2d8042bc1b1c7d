"""Running ChatGLM3-6B's own model code (``trust_remote_code``) on transformers 5.

ChatGLM3's folder ships ``modeling_chatglm.py`` and ``tokenization_chatglm.py`` written for
transformers 4.3x. On transformers 5 they fail in several places; we fix them from the outside,
without editing the user's model folder:

Tokenizer (patched on its class, once):
- transformers 5 passes ``padding_side=`` to ``_pad``; ChatGLM's override does not take it, so
  even ``encode()`` fails. ChatGLM always pads on the left, so the argument is dropped.
- ``batch_encode_plus`` was removed; ChatGLM's ``build_chat_input`` still calls it.

Model (loaded through :func:`chatglm3_model_class`, a subclass of the folder's class):
- its ``__init__`` reads ``config.max_length`` (no longer on configs) and never calls
  ``post_init()`` (transformers 5 needs it to load weights);
- ``generate`` would build a ``DynamicCache`` (ChatGLM keeps its own tuple cache) and calls
  ChatGLM's ``_update_model_kwargs_for_generation``, which uses a removed helper;
- transformers 5 adds ``GenerationMixin`` to a remote class only on the first ``AutoModel``
  load in a process, so a second load would have no ``generate``: we mix it in ourselves.

Each fix is applied only where it is needed, so this is a no-op on transformers 4.x. Verified
against the model code of THUDM/ChatGLM3 (a tiny random model with ChatGLM3's layout:
tokenizer, loading, greedy and streamed generation, left-padded batches equal to single
rows); ChatGLM's own ``stream_chat`` still fails on transformers 5, and we do not use it.
Run ``benchmarks/chatglm3_check.py /path/to/chatglm3-6b`` to check a real folder.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from transformers import GenerationMixin
from transformers.dynamic_module_utils import get_class_from_dynamic_module

_PATCHED = "_kefu_transformers5_compat"


def is_chatglm_config(config: Any) -> bool:
    """True for ChatGLM2/3 folders (``model_type: chatglm`` with their own model code)."""
    return getattr(config, "model_type", None) == "chatglm" and "AutoModel" in (
        getattr(config, "auto_map", None) or {}
    )


def patch_chatglm3_tokenizer(tokenizer: Any) -> None:
    """Makes ChatGLM3's tokenizer work on transformers 5 (see the module docstring)."""
    cls = type(tokenizer)
    if cls.__dict__.get(_PATCHED):
        return
    original_pad = cls._pad
    if "padding_side" not in inspect.signature(original_pad).parameters:

        def _pad(
            self: Any, encoded_inputs: Any, *args: Any, padding_side: Any = None, **kwargs: Any
        ) -> Any:
            return original_pad(self, encoded_inputs, *args, **kwargs)  # always pads left

        cls._pad = _pad
    if not any("batch_encode_plus" in vars(klass) for klass in cls.__mro__):

        def batch_encode_plus(self: Any, batch: Any, **kwargs: Any) -> Any:
            return self(batch, **kwargs)

        cls.batch_encode_plus = batch_encode_plus
    setattr(cls, _PATCHED, True)


_CLASSES: dict[type[Any], type[Any]] = {}


def chatglm3_model_class(name: str, config: Any) -> type[Any]:
    """The folder's ``ChatGLMForConditionalGeneration``, made to work on transformers 5.

    Load with ``chatglm3_model_class(name, config).from_pretrained(name, config=config, ...)``.
    """
    remote: type[Any] = get_class_from_dynamic_module(config.auto_map["AutoModel"], name)
    if remote in _CLASSES:
        return _CLASSES[remote]

    def __init__(self: Any, config: Any, *args: Any, **kwargs: Any) -> None:
        added = not hasattr(config, "max_length")
        if added:  # read by ChatGLM's __init__ only; left on the config, generate() would refuse
            config.max_length = config.seq_length
        try:
            remote.__init__(self, config, *args, **kwargs)
        finally:
            if added:
                del config.max_length
        if not hasattr(self, "all_tied_weights_keys"):
            self.post_init()
        if not hasattr(config, "use_cache"):
            config.use_cache = True

    compatible = type(
        remote.__name__,
        (remote, GenerationMixin),
        {
            "__init__": __init__,
            "__module__": remote.__module__,
            "__qualname__": remote.__qualname__,
            "_supports_default_dynamic_cache": classmethod(lambda cls: False),
            "_update_model_kwargs_for_generation": _update_model_kwargs_for_generation,
        },
    )
    _CLASSES[remote] = compatible
    return compatible


def _update_model_kwargs_for_generation(
    self: Any, outputs: Any, model_kwargs: dict[str, Any], *args: Any, **kwargs: Any
) -> dict[str, Any]:
    """One more token: ChatGLM's own cache, mask and positions grow by one."""
    model_kwargs["past_key_values"] = outputs.get("cache", outputs.get("past_key_values"))
    mask = model_kwargs.get("attention_mask")
    if mask is not None:
        model_kwargs["attention_mask"] = torch.cat(
            [mask, mask.new_ones((mask.shape[0], 1))], dim=-1
        )
    positions = model_kwargs.get("position_ids")
    if positions is not None:
        model_kwargs["position_ids"] = torch.cat([positions, positions[..., -1:] + 1], dim=-1)
    model_kwargs["is_first_forward"] = False
    return model_kwargs
