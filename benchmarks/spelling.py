"""Hybrid retrieval with and without correcting misspellings (``knowledge/spelling.py``).

The bot corrects a question's misspelt English words and Chinese homophone slips to the
knowledge base's own words before searching. This runs every query of the public sets both
ways and reports hit@1 and MRR@10 on all queries (nothing in the correction was fitted to
these sets), with the queries it changed.

Usage::

    .venv/bin/python benchmarks/spelling.py [--sets stackfaq_en covidfaq_en lcqmc_zh demo]
        [--work-dir DIR]

``--work-dir`` reuses the indexes of ``retrieval_compare.py``. Writes
``benchmarks/results/spelling.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from retrieval_compare import open_index, queries_of, vectors, warm  # noqa: E402

from core.settings import KnowledgeSettings  # noqa: E402
from knowledge.embeddings import E5Embedder  # noqa: E402
from knowledge.evaluation import evaluate_retrieval  # noqa: E402

SETS = ("stackfaq_en", "covidfaq_en", "lcqmc_zh", "demo")


def measure(name: str, eval_dir: Path, work: Path, embedder: E5Embedder) -> dict[str, Any]:
    kb = open_index(name, eval_dir, embedder, work, KnowledgeSettings(source_dirs=[]))
    queries = queries_of(name, eval_dir)
    warm(kb, queries, vectors(work, name))
    changed = [(q.query, kb.corrected(q.query)) for q in queries]
    changed = [(before, after) for before, after in changed if before != after]
    rows: dict[str, Any] = {"queries": len(queries), "changed": changed}
    for label, fix in (("as typed", lambda text: text), ("corrected", kb.corrected)):
        result = evaluate_retrieval(lambda query, k, fix=fix: kb.search(fix(query), k), queries)
        rows[label] = {metric: result[metric] for metric in ("hit@1", "mrr@10")}
    return rows


def markdown(results: dict[str, Any], command: str) -> str:
    lines = [
        "# Spelling correction before hybrid search",
        "",
        f"Command: `{command}`. All queries (the correction has no parameters fitted to them).",
        "",
        "| set | queries | changed | hit@1 as typed | hit@1 corrected | MRR@10 as typed "
        "| MRR@10 corrected |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['queries']} | {len(r['changed'])} | {r['as typed']['hit@1']:.3f} "
            f"| {r['corrected']['hit@1']:.3f} | {r['as typed']['mrr@10']:.3f} "
            f"| {r['corrected']['mrr@10']:.3f} |"
        )
    lines += ["", "Queries changed (first ten per set):", ""]
    for name, r in results.items():
        lines += [f"- {name}: " + "; ".join(f"{a!r} -> {b!r}" for a, b in r["changed"][:10])]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--eval-dir", type=Path, default=ROOT.parent / "shared" / "eval")
    parser.add_argument("--sets", nargs="+", default=list(SETS))
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--out-dir", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    embedder = E5Embedder()
    with tempfile.TemporaryDirectory(prefix="kefu-spelling-") as folder:
        work = args.work_dir or Path(folder)
        results = {name: measure(name, args.eval_dir, work, embedder) for name in args.sets}
    command = "python benchmarks/spelling.py " + " ".join(sys.argv[1:])
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "spelling.json").write_text(
        json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    (args.out_dir / "spelling.md").write_text(markdown(results, command), encoding="utf-8")
    print(markdown(results, command))


if __name__ == "__main__":
    main()
