"""A local chat model on transformers: ChatGLM3-6B as in the seed, or any chat-template model.

Imported lazily (it imports torch and transformers); build it through
:func:`core.llm.factory.make_backend`. Generation runs in one worker thread fed by a batching
queue (:mod:`core.llm.batching`), so the event loop stays free and concurrent customers share
the model safely.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import structlog
import torch
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForCausalLM,
    AutoTokenizer,
    StoppingCriteria,
)

from core.config.llm import LLMSettings
from core.errors import ConfigError, LLMError
from core.llm.base import ChatMessage, ChatResult, ToolCall, ToolSpec, Usage, closing_stream
from core.llm.batching import BatchQueue, BatchStreamer, GenerationJob
from core.llm.chat_format import (
    ChatStyle,
    chat_style,
    chatglm3_history,
    parse_chatglm3_output,
    parse_json_tool_calls,
    plain_prompt,
    template_conversation,
    template_takes_tools,
)
from core.llm.chatglm3_compat import (
    chatglm3_model_class,
    is_chatglm_config,
    patch_chatglm3_tokenizer,
)

log = structlog.get_logger(__name__)

_DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}
_CHATGLM3_STOPS = ("<|user|>", "<|observation|>")


class TransformersBackend:
    """A :class:`core.llm.base.ChatBackend` running a model in this process."""

    def __init__(
        self,
        settings: LLMSettings,
        *,
        model: Any | None = None,
        tokenizer: Any | None = None,
        generation_overrides: Mapping[str, Any] | None = None,
    ) -> None:
        """Nothing is loaded here; the model loads on :meth:`load` or the first request.

        Args:
            settings: model path, device, dtype, sampling and batching settings.
            model: an already loaded model (benchmarks, tests); needs ``tokenizer`` too.
            tokenizer: the model's tokenizer.
            generation_overrides: extra ``generate`` arguments, e.g. ``min_new_tokens`` to
                time random-weight models at a fixed length.
        """
        if (model is None) != (tokenizer is None):
            raise ConfigError("pass both a model and its tokenizer, or neither")
        if model is None and not settings.model:
            raise ConfigError("KEFU_LLM__MODEL (a model folder) is required for transformers")
        self._settings = settings
        self._model: Any = model
        self._tokenizer: Any = tokenizer
        self._overrides = dict(generation_overrides or {})
        self._style: ChatStyle = "plain"
        self._stop_ids: set[int] = set()
        self._pad_id = 0
        self._ready = False
        self._queue = BatchQueue(self._generate_batch, max_batch_size=settings.max_batch_size)
        self.name = f"transformers:{settings.model or type(model).__name__}"
        self.load_seconds: float | None = None

    def set_max_batch_size(self, size: int) -> None:
        """Changes how many customers share one ``generate`` call (benchmarks)."""
        self._queue.max_batch_size = max(1, size)

    @property
    def batch_sizes(self) -> list[int]:
        """Sizes of the batches generated so far."""
        return self._queue.batch_sizes

    async def load(self) -> None:
        """Loads the model in the generation thread (call at start-up to warm it).

        Raises:
            ConfigError: the model folder is missing or the settings cannot be met.
            LLMError: transformers failed to load the model.
        """
        if not self._ready:
            await self._queue.run_in_worker(self._load_once)

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        tools: Sequence[ToolSpec] | None = None,
        max_tokens: int | None = None,
    ) -> ChatResult:
        """See :meth:`core.llm.base.ChatBackend.complete`."""
        job = await self._submit(messages, tools, max_tokens)
        async for _ in job.pieces(self._settings.timeout_s):
            pass
        return self._result(job, tools)

    async def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int | None = None
    ) -> AsyncIterator[str]:
        """See :meth:`core.llm.base.ChatBackend.stream`."""
        job = await self._submit(messages, None, max_tokens)
        async with closing_stream(job.pieces(self._settings.timeout_s)) as pieces:
            async for piece in pieces:
                yield piece

    async def close(self) -> None:
        """Stops the worker and frees the model's memory."""
        await self._queue.close()
        self._model = None
        self._ready = False
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def render_prompt(
        self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec] | None = None
    ) -> str:
        """The exact prompt text the model reads (special tokens included), for debugging."""
        return str(self._tokenizer.decode(self.encode_prompt(messages, tools)))

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text`` by this model's tokenizer (benchmarks)."""
        return len(self._tokenizer.encode(text, add_special_tokens=False))

    async def _submit(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolSpec] | None,
        max_tokens: int | None,
    ) -> GenerationJob:
        try:
            await self.load()
            prompt_ids = self.encode_prompt(messages, tools)
        except Exception as e:
            raise LLMError(f"the local model could not take the request: {e}") from e
        job = GenerationJob(
            prompt_ids=prompt_ids,
            max_new_tokens=max_tokens or self._settings.max_new_tokens,
            loop=asyncio.get_running_loop(),
        )
        self._queue.submit(job)
        return job

    def encode_prompt(
        self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec] | None
    ) -> list[int]:
        """The prompt's token ids, as the model will read them (the model must be loaded)."""
        tokenizer = self._tokenizer
        if self._style == "chatglm3":
            history, query, role = chatglm3_history(messages, tools)
            encoded = tokenizer.build_chat_input(query, history=history, role=role)
            return [int(t) for t in encoded["input_ids"][0].tolist()]
        if self._style == "template":
            native = template_takes_tools(tokenizer)
            conversation = template_conversation(messages, tools, native_tools=native)
            encoded = tokenizer.apply_chat_template(
                conversation,
                tools=[t.to_openai() for t in tools] if tools and native else None,
                add_generation_prompt=True,
                tokenize=True,
                return_dict=True,
            )
            return [int(t) for t in encoded["input_ids"]]
        return [int(t) for t in tokenizer(plain_prompt(messages))["input_ids"]]

    def _result(self, job: GenerationJob, tools: Sequence[ToolSpec] | None) -> ChatResult:
        names = [t.name for t in tools or ()]
        tokenizer = self._tokenizer
        calls: tuple[ToolCall, ...] = ()
        if self._style == "chatglm3":
            raw = tokenizer.decode(job.tokens, skip_special_tokens=False)
            text, calls = parse_chatglm3_output(raw, names)
        else:
            text = str(tokenizer.decode(job.tokens, skip_special_tokens=True)).strip()
            if names:
                text, calls = parse_json_tool_calls(text, names)
        return ChatResult(
            text=text,
            tool_calls=calls,
            usage=Usage(len(job.prompt_ids), len(job.tokens)),
            finish_reason="tool_calls" if calls else job.finish_reason,
        )

    def _load_once(self) -> None:
        """In the generation thread: load (unless given) and learn the prompt style."""
        if self._ready:
            return
        started = time.perf_counter()
        if self._model is None:
            try:
                self._model, self._tokenizer = load_model(self._settings)
            except ConfigError:
                raise
            except Exception as e:  # corrupt folder, unsupported architecture, out of memory
                raise LLMError(f"cannot load {self._settings.model}: {e}"[:500]) from e
        self._prepare_tokenizer()
        self.load_seconds = time.perf_counter() - started
        self._ready = True
        log.info(
            "llm.local.loaded",
            model=self.name,
            style=self._style,
            device=str(_model_device(self._model)),
            seconds=round(self.load_seconds, 2),
        )

    def _prepare_tokenizer(self) -> None:
        tokenizer, model = self._tokenizer, self._model
        self._style = chat_style(tokenizer)
        stops: set[int] = set()
        for source in (model.generation_config.eos_token_id, tokenizer.eos_token_id):
            if isinstance(source, int):
                stops.add(source)
            elif source:
                stops.update(int(t) for t in source)
        if self._style == "chatglm3":
            stops.update(int(tokenizer.get_command(token)) for token in _CHATGLM3_STOPS)
        self._stop_ids = stops
        pad = tokenizer.pad_token_id
        self._pad_id = int(pad) if pad is not None else min(stops, default=0)

    def _generate_batch(self, jobs: Sequence[GenerationJob]) -> None:
        """In the generation thread: one left-padded ``generate`` call for ``jobs``."""
        model = self._model
        width = max(len(job.prompt_ids) for job in jobs)
        input_ids = torch.full((len(jobs), width), self._pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(jobs), width), dtype=torch.long)
        for row, job in enumerate(jobs):
            input_ids[row, width - len(job.prompt_ids) :] = torch.tensor(job.prompt_ids)
            attention_mask[row, width - len(job.prompt_ids) :] = 1
        device = _model_device(model)
        streamer = BatchStreamer(jobs, self._decode_piece, self._stop_ids)
        sampling: dict[str, Any] = {"do_sample": self._settings.temperature > 0}
        if sampling["do_sample"]:
            sampling.update(temperature=self._settings.temperature, top_p=self._settings.top_p)
        longest = max(job.max_new_tokens for job in jobs)
        overrides = dict(self._overrides)
        if "min_new_tokens" in overrides:
            overrides["min_new_tokens"] = min(overrides["min_new_tokens"], longest)
        try:
            with torch.inference_mode():
                model.generate(
                    input_ids=input_ids.to(device),
                    attention_mask=attention_mask.to(device),
                    max_new_tokens=longest,
                    eos_token_id=sorted(self._stop_ids) or None,
                    pad_token_id=self._pad_id,
                    streamer=streamer,
                    stopping_criteria=[_RowLimits(jobs, width)],
                    **sampling,
                    **overrides,
                )
        finally:
            for job in jobs:
                job.finish()  # no-op for rows the streamer already closed

    def _decode_piece(self, tokens: list[int]) -> str:
        # Streaming decodes every row at every step: the Rust tokenizer directly is ~70x
        # cheaper than the Python wrapper (which only adds optional space clean-up).
        rust = getattr(self._tokenizer, "backend_tokenizer", None)
        if rust is not None:
            return str(rust.decode(tokens, skip_special_tokens=True))
        return str(self._tokenizer.decode(tokens, skip_special_tokens=True))


class _RowLimits(StoppingCriteria):
    """Stops each row at its own token limit, or when its customer went away."""

    def __init__(self, jobs: Sequence[GenerationJob], prompt_width: int) -> None:
        self._jobs = jobs
        self._prompt_width = prompt_width

    def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
        generated = input_ids.shape[1] - self._prompt_width
        done = [generated >= job.max_new_tokens or job.cancelled.is_set() for job in self._jobs]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


def _model_device(model: Any) -> torch.device:
    device = getattr(model, "device", None)
    return device if isinstance(device, torch.device) else torch.device("cpu")


def resolve_device(settings: LLMSettings) -> str:
    """``cuda`` or ``cpu`` from the settings and what this machine has.

    Raises:
        ConfigError: CUDA was asked for and is not available.
    """
    if settings.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("KEFU_LLM__DEVICE=cuda but no CUDA device is available")
    if settings.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return settings.device


def resolve_dtype(settings: LLMSettings, device: str) -> torch.dtype:
    """float16 on CUDA and float32 on CPU unless the settings say otherwise."""
    if settings.dtype == "auto":
        return torch.float16 if device == "cuda" else torch.float32
    return _DTYPES[settings.dtype]


def load_model(settings: LLMSettings) -> tuple[Any, Any]:
    """Loads the tokenizer and model named by ``settings.model`` (never downloads if it is a
    path that does not exist).

    Raises:
        ConfigError: missing folder, CUDA or quantisation support.
    """
    name = settings.model or ""
    if name.startswith(("/", ".", "~")) and not Path(name).expanduser().exists():
        raise ConfigError(f"model folder {name} does not exist")
    device = resolve_device(settings)
    dtype = resolve_dtype(settings, device)
    remote = settings.trust_remote_code
    tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=remote)
    if callable(getattr(tokenizer, "build_chat_input", None)):
        patch_chatglm3_tokenizer(tokenizer)
    kwargs: dict[str, Any] = {"dtype": dtype, "trust_remote_code": remote}
    if device == "cuda":
        kwargs["device_map"] = "cuda"
    bits = {"none": 0, "int4": 4, "int8": 8}[settings.quantize]
    if bits:
        kwargs.update(_bitsandbytes_config(bits, device, dtype))
    model = _from_pretrained(name, kwargs)
    if bits and "quantization_config" not in kwargs:
        if not callable(getattr(model, "quantize", None)):
            raise ConfigError(
                f"KEFU_LLM__QUANTIZE=int{bits} needs the bitsandbytes package, or a model that "
                "ships its own quantize() (ChatGLM3 does)"
            )
        model = model.quantize(bits).to(device)  # ChatGLM3's own int4/int8 kernels
    if settings.adapter is not None:
        model = _apply_adapter(model, settings.adapter, merge=not bits)
    model.eval()
    return model, tokenizer


def _from_pretrained(name: str, kwargs: dict[str, Any]) -> Any:
    if kwargs["trust_remote_code"]:
        config = AutoConfig.from_pretrained(name, trust_remote_code=True)
        if is_chatglm_config(config):  # ChatGLM3's own code, made to run on transformers 5
            model_class = chatglm3_model_class(name, config)
            return model_class.from_pretrained(name, config=config, **kwargs)
    try:
        return AutoModelForCausalLM.from_pretrained(name, **kwargs)
    except ValueError:  # ChatGLM3's remote code registers only AutoModel in some revisions
        return AutoModel.from_pretrained(name, **kwargs)


def _bitsandbytes_config(bits: int, device: str, dtype: torch.dtype) -> dict[str, Any]:
    """``quantization_config`` when bitsandbytes can do it; empty to try the model's own."""
    if device != "cuda":
        raise ConfigError(f"int{bits} quantisation needs a CUDA device")
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        log.warning("llm.local.no_bitsandbytes", bits=bits)
        return {}
    from transformers import BitsAndBytesConfig

    if bits == 4:
        config = BitsAndBytesConfig(  # type: ignore[no-untyped-call]
            load_in_4bit=True, bnb_4bit_compute_dtype=dtype
        )
    else:
        config = BitsAndBytesConfig(load_in_8bit=True)  # type: ignore[no-untyped-call]
    return {"quantization_config": config}


def _apply_adapter(model: Any, adapter: Path, *, merge: bool) -> Any:
    from peft import PeftModel

    if not adapter.exists():
        raise ConfigError(f"LoRA adapter folder {adapter} does not exist")
    model = PeftModel.from_pretrained(model, str(adapter))
    return model.merge_and_unload() if merge else model
