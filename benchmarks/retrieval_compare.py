"""Dense vs BM25 vs hybrid retrieval on the public eval sets, and e5 vs USE as dense model.

For each set (``stackfaq_en``: English FAQ retrieval from rephrased questions;
``cmrc2018_zh``: Chinese Wikipedia passages) the corpus is indexed once per embedder with the
configured pipeline (chunking, title + text, jieba BM25), then every query is run in three
modes: dense only (plain Chroma similarity), BM25 only, and hybrid (reciprocal rank fusion).

The fusion parameters (``rrf_k``, ``dense_weight``, ``bm25_weight``) were tuned with ``--tune``
on the even-numbered queries of both sets; the odd-numbered queries were never looked at while
tuning, and the tables report them separately ("held out") next to all queries.

Usage::

    .venv/bin/python benchmarks/retrieval_compare.py [--eval-dir ../shared/eval]
        [--embedders e5 use] [--work-dir DIR] [--tune]

Writes ``benchmarks/results/retrieval_compare.{json,md}``. ``--work-dir`` keeps the indexes
between runs (embedding cmrc2018 with e5 takes minutes on two cores).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.settings import KnowledgeSettings  # noqa: E402
from knowledge.base import KnowledgeBase  # noqa: E402
from knowledge.embeddings import E5Embedder, Embedder, USEEmbedder  # noqa: E402
from knowledge.evaluation import (  # noqa: E402
    LabelledQuery,
    evaluate_retrieval,
    first_relevant_rank,
    index_corpus,
    load_queries,
)
from knowledge.retrieval import FusionWeights, Rankings  # noqa: E402

SETS = ("stackfaq_en", "cmrc2018_zh")
MODES = ("dense", "bm25", "hybrid")
EMBEDDERS = {"e5": E5Embedder, "use": USEEmbedder}


def open_index(
    name: str, eval_dir: Path, embedder: Embedder, work: Path, settings: KnowledgeSettings
) -> KnowledgeBase:
    """The set's corpus indexed with ``embedder``, reused from ``work`` when unchanged."""
    folder = work / f"{name}-{embedder.name}-{settings.chunk_size}"
    return index_corpus(settings, eval_dir / name / "corpus.jsonl", folder, embedder)


def split(queries: Sequence[LabelledQuery]) -> dict[str, list[LabelledQuery]]:
    return {"tune": list(queries[0::2]), "held_out": list(queries[1::2]), "all": list(queries)}


def evaluate(kb: KnowledgeBase, queries: Sequence[LabelledQuery]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for mode in MODES:

        def search(query: str, k: int, mode: Any = mode) -> Any:
            return kb.search(query, k, mode=mode)

        results[mode] = {
            part: evaluate_retrieval(search, qs) for part, qs in split(queries).items()
        }
    return results


def doc_ranks(kb: KnowledgeBase, rankings: Rankings, weights: FusionWeights) -> list[str]:
    """Record ids in fused order (for tuning without re-running the retrievers)."""
    kb.retriever.weights = weights
    lexical = kb._lexical
    ids: dict[str, None] = {}
    for chunk_id, _ in kb.retriever.fuse(rankings):
        position = lexical.position.get(chunk_id)
        if position is not None:
            fields = lexical.fields[position]
            ids.setdefault(fields.doc_id or fields.source)
        if len(ids) >= 10:
            break
    return list(ids)


def tune(
    kbs: dict[str, KnowledgeBase], queries: dict[str, list[LabelledQuery]]
) -> list[dict[str, Any]]:
    """Grid over fusion parameters on the tuning half of each set; hit@1 per set."""
    cached = {
        name: [
            (q, kbs[name].retriever.rankings(q.query, 50, mode="hybrid")) for q in split(qs)["tune"]
        ]
        for name, qs in queries.items()
    }
    grid = []
    for rrf_k, bm25, exponent in itertools.product(
        (1, 3, 5, 10, 20, 60), (0.5, 1.0, 1.5, 2.0, 3.0), (0.0, 0.5, 1.0, 2.0)
    ):
        weights = FusionWeights(rrf_k=rrf_k, bm25=bm25, bm25_coverage_exponent=exponent)
        row: dict[str, Any] = {"rrf_k": rrf_k, "bm25_weight": bm25, "exponent": exponent}
        for name, pairs in cached.items():
            hits = sum(
                first_relevant_rank(doc_ranks(kbs[name], r, weights), q.relevant_ids) == 1
                for q, r in pairs
            )
            row[name] = round(hits / len(pairs), 4)
        row["mean"] = round(sum(row[name] for name in cached) / len(cached), 4)
        grid.append(row)
    return sorted(grid, key=lambda r: -r["mean"])


def table(results: dict[str, Any], part: str) -> list[str]:
    lines = [
        "| set | embedder | mode | hit@1 | hit@5 | MRR@10 | queries | median ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, by_embedder in results.items():
        for embedder, by_mode in by_embedder.items():
            for mode in MODES:
                m = by_mode[mode][part]
                lines.append(
                    f"| {name} | {embedder} | {mode} | {m['hit@1']:.3f} | {m['hit@5']:.3f} | "
                    f"{m['mrr@10']:.3f} | {m['n_queries']} | {m['latency_ms_median']} |"
                )
    return lines


def markdown(report: dict[str, Any]) -> str:
    s = report["settings"]
    lines = [
        "# Retrieval: dense vs BM25 vs hybrid",
        "",
        f"Command: `{report['command']}`. Chunks of {s['chunk_size']} characters "
        f"(overlap {s['chunk_overlap']}), title + text embedded and BM25-indexed; hybrid = "
        f"RRF with k={s['rrf_k']}, dense weight {s['dense_weight']}, BM25 weight "
        f"{s['bm25_weight']} × coverage^{s['bm25_coverage_exponent']}, {s['candidates']} "
        "candidates from each.",
        "",
        "Fusion parameters were chosen on the even-numbered queries of both sets (`--tune`); the "
        "odd-numbered queries were held out and are reported first.",
        "",
        "## Held-out queries (odd-numbered)",
        "",
        *table(report["results"], "held_out"),
        "",
        "## All queries",
        "",
        *table(report["results"], "all"),
        "",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--eval-dir", type=Path, default=ROOT.parent / "shared" / "eval")
    parser.add_argument("--sets", nargs="+", default=list(SETS))
    parser.add_argument("--embedders", nargs="+", default=["e5", "use"], choices=EMBEDDERS)
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--out-dir", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--tune", action="store_true", help="print the fusion grid and stop")
    args = parser.parse_args()
    settings = KnowledgeSettings(source_dirs=[])
    queries = {name: load_queries(args.eval_dir / name / "queries.jsonl") for name in args.sets}
    with tempfile.TemporaryDirectory(prefix="kefu-compare-") as folder:
        work = args.work_dir or Path(folder)
        if args.tune:
            embedder = EMBEDDERS[args.embedders[0]]()
            kbs = {n: open_index(n, args.eval_dir, embedder, work, settings) for n in args.sets}
            for row in tune(kbs, queries)[:15]:
                print(json.dumps(row))
            return
        results: dict[str, Any] = {}
        for name in args.sets:
            results[name] = {}
            for key in args.embedders:
                kb = open_index(name, args.eval_dir, EMBEDDERS[key](), work, settings)
                results[name][kb.embedder.name] = evaluate(kb, queries[name])
                print(json.dumps({name: {kb.embedder.name: results[name][kb.embedder.name]}}))
    report = {
        "command": "python benchmarks/retrieval_compare.py " + " ".join(sys.argv[1:]),
        "settings": settings.model_dump(
            include={
                "chunk_size",
                "chunk_overlap",
                "rrf_k",
                "dense_weight",
                "bm25_weight",
                "bm25_coverage_exponent",
                "candidates",
            }
        ),
        "results": results,
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "retrieval_compare.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out_dir / "retrieval_compare.md").write_text(markdown(report))


if __name__ == "__main__":
    main()
