"""Language-model backend settings (``KEFU_LLM__...``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class LLMSettings(BaseModel):
    """Which language model writes the answers, and how it is called.

    With ``backend="none"`` (the default) the bot answers extractively and needs no model.
    """

    backend: Literal["none", "openai", "transformers"] = Field(
        default="none",
        description="none: extractive answers, no model; openai: any OpenAI-compatible chat "
        "completions server (OpenAI, Azure OpenAI, vLLM, Ollama, ChatGLM3's API server); "
        "transformers: a local chat model (ChatGLM3-6B or any model with a chat template).",
    )
    model: str | None = Field(
        default=None,
        description="Model name on the server (openai) or a Hugging Face model id / local folder "
        "(transformers, e.g. `/models/chatglm3-6b`). Nothing is downloaded at run time, so on "
        "machines without internet this must be a local folder. For Azure it defaults to "
        "`azure_deployment`.",
    )
    device: Literal["auto", "cpu", "cuda"] = Field(
        default="auto",
        description="transformers: where the model runs; auto picks CUDA if present.",
    )
    dtype: Literal["auto", "float16", "bfloat16", "float32"] = Field(
        default="auto",
        description="transformers: weight precision; auto is float16 on CUDA, float32 on CPU.",
    )
    quantize: Literal["none", "int4", "int8"] = Field(
        default="none",
        description="transformers: load weights quantised (needs CUDA and bitsandbytes, or a "
        "model whose own code offers `quantize()`, like ChatGLM3).",
    )
    trust_remote_code: bool = Field(
        default=True,
        description="transformers: run the Python code shipped in the model folder (ChatGLM3 needs "
        "it). Only point `model` at folders you trust.",
    )
    adapter: Path | None = Field(
        default=None, description="transformers: a LoRA adapter folder (peft) applied on top."
    )
    max_new_tokens: int = Field(default=512, ge=1, description="Longest answer, in tokens.")
    temperature: float = Field(
        default=0.3, ge=0.0, le=2.0, description="Sampling temperature; 0 means greedy decoding."
    )
    top_p: float = Field(default=0.8, gt=0.0, le=1.0, description="Nucleus sampling mass.")
    max_batch_size: int = Field(
        default=8,
        ge=1,
        description="transformers: customers whose answers are generated together in one batch; "
        "1 queues them one at a time.",
    )
    timeout_s: float = Field(
        default=30.0,
        gt=0.0,
        description="Seconds to wait for an answer to start and between streamed pieces (per "
        "attempt on openai; including the wait in the queue on transformers). Past it the bot "
        "falls back to the extractive answer.",
    )
    max_retries: int = Field(
        default=2,
        ge=0,
        description="openai: retries of one request on connection errors, timeouts, 408/409/429 "
        "and 5xx, with exponential backoff (0.5 s doubling to 8 s, jittered, or the server's "
        "Retry-After); done by the openai SDK.",
    )
    token_limit_field: Literal["auto", "max_tokens", "max_completion_tokens"] = Field(
        default="auto",
        description="openai: the request field that caps the answer length. auto sends "
        "`max_tokens` (vLLM, Ollama, ChatGLM3's server) and switches to "
        "`max_completion_tokens` when the server says so (OpenAI's and Azure's reasoning "
        "models); sampling settings such a model refuses are then left out too.",
    )
    base_url: str | None = Field(
        default=None,
        description="openai: server URL ending in /v1, e.g. http://localhost:8000/v1 (vLLM), "
        "http://localhost:11434/v1 (Ollama). Default: api.openai.com.",
    )
    api_key: SecretStr | None = Field(
        default=None,
        description="openai/Azure: API key. Leave empty for local servers that need none.",
    )
    azure_endpoint: str | None = Field(
        default=None,
        description="Azure OpenAI: https://<resource>.openai.azure.com; setting it selects Azure.",
    )
    azure_deployment: str | None = Field(default=None, description="Azure OpenAI: deployment name.")
    api_version: str | None = Field(
        default=None, description="Azure OpenAI: api-version, e.g. 2024-10-21."
    )
    failure_cooldown_s: float = Field(
        default=30.0,
        ge=0.0,
        description="After 3 failures in a row the model is skipped for this long and answers "
        "are extractive, so customers do not each wait for a timeout while it is down.",
    )
