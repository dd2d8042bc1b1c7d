"""Comparing models from their call records: calls, success, latency, first token, tokens."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from core.telemetry.llm_records import LLMCall


@dataclass(slots=True, frozen=True)
class ModelRow:
    """One model and purpose over the report period."""

    model: str
    backend: str
    purpose: str
    calls: int
    ok_share: float
    timeouts: int
    fallbacks: int
    p50_ms: float
    p90_ms: float
    ttft_p50_ms: float | None
    prompt_tokens: int
    completion_tokens: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _quantile(values: Sequence[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def compare_models(calls: Iterable[LLMCall]) -> list[ModelRow]:
    """One row per (model, backend, purpose), most-used first."""
    groups: dict[tuple[str, str, str], list[LLMCall]] = {}
    for call in calls:
        groups.setdefault((call.model, call.backend, call.purpose), []).append(call)
    rows = []
    for (model, backend, purpose), group in groups.items():
        latencies = sorted(c.latency_ms for c in group)
        first = sorted(c.first_token_ms for c in group if c.first_token_ms is not None)
        rows.append(
            ModelRow(
                model=model,
                backend=backend,
                purpose=purpose,
                calls=len(group),
                ok_share=round(sum(c.outcome == "ok" for c in group) / len(group), 4),
                timeouts=sum(c.outcome == "timeout" for c in group),
                fallbacks=sum(c.outcome != "ok" for c in group),
                p50_ms=round(_quantile(latencies, 0.5), 1),
                p90_ms=round(_quantile(latencies, 0.9), 1),
                ttft_p50_ms=round(_quantile(first, 0.5), 1) if first else None,
                prompt_tokens=sum(c.prompt_tokens or 0 for c in group),
                completion_tokens=sum(c.completion_tokens or 0 for c in group),
            )
        )
    return sorted(rows, key=lambda r: (-r.calls, r.model, r.purpose))


def models_text(rows: Sequence[ModelRow]) -> str:
    """The model comparison as plain-text lines for ``kefu report``."""
    if not rows:
        return "Language models: no calls recorded."
    lines = ["Language models (calls, ok, p50 / p90 ms, first token p50 ms, tokens in/out):"]
    for row in rows:
        first = "—" if row.ttft_p50_ms is None else f"{row.ttft_p50_ms:.0f}"
        lines.append(
            f"  {row.model} [{row.purpose}]: {row.calls} calls, {100 * row.ok_share:.1f}% ok, "
            f"{row.p50_ms:.0f} / {row.p90_ms:.0f} ms, first token {first} ms, "
            f"{row.prompt_tokens}/{row.completion_tokens} tokens"
        )
    return "\n".join(lines)
