"""Fits the calibrated relevance score and chooses the answer policy's thresholds.

What is calibrated: for the best hit of a query, P(the hit answers the query) =
``sigmoid(bias + w_dense * cosine + w_lexical * coverage)`` (see ``knowledge/calibration.py``).

Data (real questions, none written for this project except the demo set):
- in scope, with labels: ``stackfaq_en`` (English FAQ, 1,000 rephrased questions) and
  ``cmrc2018_zh`` (Chinese passages, 1,000 questions); label 1 when the top hit is relevant.
- out of scope, label 0: ``clinc150`` test rows labelled ``oos`` (English) asked of the
  stackfaq index, and ``smp2020_ecdt_zh`` test utterances from assistant domains (weather,
  flights, music, ...) asked of the cmrc2018 index.
- the demo shop (``knowledge/demo`` + ``benchmarks/data/demo_queries.jsonl``): 103 in-scope
  and 36 out-of-scope questions in Chinese and English.

Labels: 1 when answering from the top hit is right: the hit is relevant (for an in-scope
question of the demo, a policy passage also counts: the demo labels only name FAQ ids), 0 for a
wrong hit or an out-of-scope question.

Every set is split by position: even rows fit the weights and choose the thresholds, odd rows
are held out and reported. The answer threshold maximises balanced accuracy (answer when right,
say "I don't know" otherwise) on the demo and stackfaq rows, as a support bot is judged on
both; cmrc2018/smp2020 help fit the weights only (encyclopedia passages are not a support
knowledge base). The FAQ threshold is the lowest score (not below the answer threshold) at
which direct FAQ answers were right at least 90% of the time on those rows.

Usage::

    .venv/bin/python benchmarks/retrieval_calibration.py [--embedders e5 use] [--work-dir DIR]

Writes ``benchmarks/results/retrieval_calibration.{json,md}``; copy the printed weights into
``knowledge/calibration.py`` and the thresholds into ``KnowledgeSettings``.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.settings import DEMO_KB_DIR, KnowledgeSettings  # noqa: E402
from knowledge.base import KnowledgeBase  # noqa: E402
from knowledge.embeddings import E5Embedder, Embedder, USEEmbedder  # noqa: E402
from knowledge.evaluation import index_corpus, load_queries, read_jsonl  # noqa: E402

EMBEDDERS = {"e5": E5Embedder, "use": USEEmbedder}
SMP_ASSISTANT_DOMAINS = frozenset(
    [
        "weather",
        "flight",
        "train",
        "bus",
        "music",
        "message",
        "telephone",
        "contacts",
        "email",
        "app",
        "airControl_smartHome",
        "clock",
        "calendar",
        "radio",
        "tvchannel",
        "map",
        "cinemas",
        "lottery",
        "petrolPrice",
        "stock",
        "website",
        "cookbook",
        "carNumber",
        "weightScaler",
        "translation",
        "video",
        "epg",
        "match",
    ]
)
FAQ_PRECISION = 0.9
THRESHOLD_SETS = frozenset({"demo", "stackfaq_en", "stackfaq_en+oos"})


@dataclass(slots=True, frozen=True)
class Row:
    dataset: str
    query: str
    cosine: float
    coverage: float
    in_scope: bool
    correct: bool
    kind: str
    fit: bool

    @property
    def label(self) -> int:
        """1 when answering from the top hit is right (see the module docstring)."""
        if not self.in_scope:
            return 0
        return int(self.correct or (self.dataset == "demo" and self.kind == "doc"))

    @property
    def direct(self) -> bool:
        """Whether the policy could answer this hit directly as an FAQ entry."""
        return self.kind == "faq" or self.dataset.startswith("stackfaq")


def top_hit_rows(
    kb: KnowledgeBase, dataset: str, asked: Sequence[tuple[str, frozenset[str]]]
) -> list[Row]:
    """One row per question: the features and correctness of the best hybrid hit."""
    rows = []
    for i, (query, relevant) in enumerate(asked):
        hits = kb.hits(query, 1)
        if not hits:
            continue
        hit = hits[0]
        correct = (hit.chunk.doc_id or hit.chunk.source) in relevant
        rows.append(
            Row(
                dataset=dataset,
                query=query,
                cosine=hit.cosine,
                coverage=hit.coverage,
                in_scope=bool(relevant),
                correct=correct,
                kind=hit.chunk.kind,
                fit=i % 2 == 0,
            )
        )
    return rows


def out_of_scope_english(eval_dir: Path) -> list[tuple[str, frozenset[str]]]:
    with (eval_dir / "clinc150" / "test.csv").open(encoding="utf-8") as handle:
        return [(r["text"], frozenset()) for r in csv.DictReader(handle) if r["intent"] == "oos"]


def out_of_scope_chinese(eval_dir: Path) -> list[tuple[str, frozenset[str]]]:
    rows = read_jsonl(eval_dir / "smp2020_ecdt_zh" / "test.jsonl")
    return [(str(r["text"]), frozenset()) for r in rows if r["domain"] in SMP_ASSISTANT_DOMAINS]


def sample(items: Sequence[Any], limit: int) -> list[Any]:
    """Every n-th item, so a sample spans the whole file (queries come grouped by answer)."""
    step = max(1, len(items) // limit)
    return list(items[::step][:limit])


def collect(embedder: Embedder, eval_dir: Path, work: Path, limit: int) -> list[Row]:
    settings = KnowledgeSettings(source_dirs=[])
    rows: list[Row] = []
    for name, oos in (
        ("stackfaq_en", out_of_scope_english(eval_dir)),
        ("cmrc2018_zh", out_of_scope_chinese(eval_dir)),
    ):
        folder = work / f"{name}-{embedder.name}-{settings.chunk_size}"
        kb = index_corpus(settings, eval_dir / name / "corpus.jsonl", folder, embedder)
        labelled = [
            (q.query, q.relevant_ids) for q in load_queries(eval_dir / name / "queries.jsonl")
        ]
        rows += top_hit_rows(kb, name, sample(labelled, limit))
        rows += top_hit_rows(kb, f"{name}+oos", sample(oos, limit))
        print(f"{name}: {len(rows)} rows", flush=True)
    demo = KnowledgeBase.open(
        KnowledgeSettings(source_dirs=[DEMO_KB_DIR]), work / f"demo-{embedder.name}", embedder
    )
    demo.reload()
    asked = [
        (q.query, q.relevant_ids)
        for q in load_queries(ROOT / "benchmarks" / "data" / "demo_queries.jsonl")
    ]
    rows += top_hit_rows(demo, "demo", asked)
    return rows


def features(rows: Sequence[Row]) -> np.ndarray:
    return np.array([[r.cosine, r.coverage] for r in rows], dtype=np.float64)


def sigmoid(z: np.ndarray) -> np.ndarray:
    result: np.ndarray = 1.0 / (1.0 + np.exp(-z))
    return result


def expected_calibration_error(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in itertools.pairwise(edges):
        inside = (p >= lo) & (p < hi) if hi < 1 else (p >= lo)
        if inside.any():
            total += float(inside.mean() * abs(p[inside].mean() - y[inside].mean()))
    return total


def balanced_accuracy(p: np.ndarray, y: np.ndarray, t: float) -> float:
    answer = p >= t
    return float(0.5 * (answer[y == 1].mean() + (~answer[y == 0]).mean()))


def choose_thresholds(p: np.ndarray, rows: Sequence[Row]) -> tuple[float, float]:
    """Answer and FAQ thresholds from the fit rows of :data:`THRESHOLD_SETS`."""
    keep = [i for i, r in enumerate(rows) if r.dataset in THRESHOLD_SETS]
    p, rows = p[keep], [rows[i] for i in keep]
    y = np.array([r.label for r in rows])
    grid = [round(float(t), 2) for t in np.arange(0.05, 0.96, 0.01)]
    answer = max(grid, key=lambda t: (balanced_accuracy(p, y, t), -abs(t - 0.5)))
    direct = [i for i, r in enumerate(rows) if r.direct]
    for t in grid:
        chosen = [i for i in direct if p[i] >= t]
        if t >= answer and chosen and np.mean([y[i] for i in chosen]) >= FAQ_PRECISION:
            return answer, t
    return answer, grid[-1]


def report_rows(
    p: np.ndarray, rows: Sequence[Row], answer_t: float, faq_t: float
) -> list[dict[str, Any]]:
    out = []
    for dataset in dict.fromkeys(r.dataset for r in rows):
        for part, keep in (("fit", True), ("held_out", False)):
            idx = [i for i, r in enumerate(rows) if r.dataset == dataset and r.fit == keep]
            if not idx:
                continue
            y = np.array([rows[i].label for i in idx])
            ps = p[idx]
            in_scope = np.array([rows[i].in_scope for i in idx])
            answered = ps >= answer_t
            entry: dict[str, Any] = {"dataset": dataset, "part": part, "n": len(idx)}
            if in_scope.any():
                entry["in_scope_answered"] = round(float(answered[in_scope].mean()), 3)
                right = answered & in_scope
                entry["answered_right"] = round(float(y[right].mean()) if right.any() else 0, 3)
            if (~in_scope).any():
                entry["out_of_scope_refused"] = round(float((~answered[~in_scope]).mean()), 3)
            direct = [j for j, i in enumerate(idx) if rows[i].direct and ps[j] >= faq_t]
            if direct:
                entry["faq_direct"] = len(direct)
                entry["faq_direct_precision"] = round(float(np.mean(y[direct])), 3)
            if 0 < y.mean() < 1:
                entry["auc"] = round(float(roc_auc_score(y, ps)), 3)
            entry["ece"] = round(expected_calibration_error(ps, y), 3)
            out.append(entry)
    return out


def sweep(p: np.ndarray, rows: Sequence[Row]) -> list[dict[str, Any]]:
    """Held-out demo and stackfaq outcomes at a range of answer thresholds."""
    held = [i for i, r in enumerate(rows) if not r.fit and r.dataset in THRESHOLD_SETS]
    out = []
    for t in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        entry: dict[str, Any] = {"threshold": t}
        for name, test in (("demo", "demo"), ("stackfaq", "stackfaq")):
            idx = [i for i in held if rows[i].dataset.startswith(test)]
            ins = [i for i in idx if rows[i].in_scope]
            oos = [i for i in idx if not rows[i].in_scope]
            answered = [i for i in ins if p[i] >= t]
            entry[f"{name}_in_scope_answered"] = round(len(answered) / len(ins), 3)
            entry[f"{name}_answered_right"] = round(
                float(np.mean([rows[i].label for i in answered])) if answered else 0.0, 3
            )
            entry[f"{name}_out_of_scope_refused"] = round(
                float(np.mean([p[i] < t for i in oos])), 3
            )
        out.append(entry)
    return out


def calibrate(key: str, eval_dir: Path, work: Path, limit: int) -> dict[str, Any]:
    embedder = EMBEDDERS[key]()
    rows = collect(embedder, eval_dir, work, limit)
    fit = [r for r in rows if r.fit]
    model = LogisticRegression(C=10.0, max_iter=1000)
    model.fit(features(fit), np.array([r.label for r in fit]))
    bias = float(model.intercept_[0])
    dense, lexical = (float(w) for w in model.coef_[0])
    p_all = sigmoid(bias + features(rows) @ np.array([dense, lexical]))
    fit_idx = [i for i, r in enumerate(rows) if r.fit]
    answer_t, faq_t = choose_thresholds(p_all[fit_idx], fit)
    return {
        "embedder": embedder.name,
        "weights": {"bias": round(bias, 3), "dense": round(dense, 3), "lexical": round(lexical, 3)},
        "answer_threshold": answer_t,
        "faq_threshold": faq_t,
        "rows": report_rows(p_all, rows, answer_t, faq_t),
        "sweep": sweep(p_all, rows),
        "n_fit": len(fit),
    }


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Calibrated relevance and answer thresholds",
        "",
        f"Command: `{report['command']}`. Method: see the docstring of "
        "`benchmarks/retrieval_calibration.py` (logistic regression on [cosine, coverage] of "
        "the top hybrid hit; even rows fit, odd rows held out).",
        "",
    ]
    for result in report["results"]:
        w = result["weights"]
        lines += [
            f"## {result['embedder']}",
            "",
            f"score = sigmoid({w['bias']} + {w['dense']} × cosine + {w['lexical']} × coverage); "
            f"answer_threshold = **{result['answer_threshold']}**, faq_threshold = "
            f"**{result['faq_threshold']}** ({result['n_fit']} rows fitted).",
            "",
            "| data | part | n | in-scope answered | answered & right | out-of-scope refused "
            "| FAQ direct (precision) | AUC | ECE |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in result["rows"]:
            faq = f"{r['faq_direct']} ({r['faq_direct_precision']})" if "faq_direct" in r else ""
            lines.append(
                f"| {r['dataset']} | {r['part']} | {r['n']} | {r.get('in_scope_answered', '')} "
                f"| {r.get('answered_right', '')} | {r.get('out_of_scope_refused', '')} | {faq} "
                f"| {r.get('auc', '')} | {r['ece']} |"
            )
        lines += [
            "",
            "Held-out rows at other answer thresholds (demo: Chinese and English shop questions; "
            "stackfaq: FAQ questions, out of scope = clinc150 `oos`):",
            "",
            "| threshold | demo in-scope answered | demo answered & right | demo out-of-scope "
            "refused | stackfaq answered | stackfaq answered & right | clinc oos refused |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in result["sweep"]:
            lines.append(
                f"| {r['threshold']} | {r['demo_in_scope_answered']} | "
                f"{r['demo_answered_right']} | {r['demo_out_of_scope_refused']} | "
                f"{r['stackfaq_in_scope_answered']} | {r['stackfaq_answered_right']} | "
                f"{r['stackfaq_out_of_scope_refused']} |"
            )
        lines.append("")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--eval-dir", type=Path, default=ROOT.parent / "shared" / "eval")
    parser.add_argument("--embedders", nargs="+", default=["e5", "use"], choices=EMBEDDERS)
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--out-dir", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument(
        "--limit", type=int, default=500, help="questions per public set (spread evenly)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kefu-calibration-") as folder:
        work = args.work_dir or Path(folder)
        results = [calibrate(key, args.eval_dir, work, args.limit) for key in args.embedders]
    report = {
        "command": "python benchmarks/retrieval_calibration.py " + " ".join(sys.argv[1:]),
        "results": results,
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "retrieval_calibration.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out_dir / "retrieval_calibration.md").write_text(markdown(report))
    for result in results:
        print(json.dumps({k: v for k, v in result.items() if k != "rows"}))


if __name__ == "__main__":
    main()
