"""Search latency of the knowledge base at 10,000 and 100,000 chunks.

The big indexes are built from synthetic chunks (sentences sampled from the public eval corpora,
Chinese and English) with random unit vectors, so building takes minutes, not hours; HNSW and
BM25 cost the same whatever the vectors mean. Queries are real questions from the eval sets,
embedded with e5 at query time, so the latency includes query embedding, dense search, BM25,
fusion and calibration: what one customer message costs.

Usage::

    .venv/bin/python benchmarks/retrieval_latency.py [--sizes 10000 100000] [--queries 200]

Writes ``benchmarks/results/retrieval_latency.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.settings import KnowledgeSettings  # noqa: E402
from knowledge.base import KnowledgeBase  # noqa: E402
from knowledge.chunking import Chunk, chunk_id_for  # noqa: E402
from knowledge.embeddings import E5Embedder, normalize_rows  # noqa: E402
from knowledge.evaluation import read_jsonl  # noqa: E402

SENTENCE = re.compile(r"[^。！？.!?\n]+[。！？.!?]")


def sentences(eval_dir: Path) -> list[str]:
    """Sentences of the stackfaq (English) and cmrc2018 (Chinese) corpora."""
    found: list[str] = []
    for name in ("stackfaq_en", "cmrc2018_zh"):
        for row in read_jsonl(eval_dir / name / "corpus.jsonl"):
            found.extend(s.strip() for s in SENTENCE.findall(str(row["text"])) if len(s) > 8)
    return found


def synthetic_chunks(pool: list[str], n: int, rng: random.Random) -> list[Chunk]:
    """``n`` chunks of 3-6 random sentences (~300 characters), 20 sources, 10 categories."""
    chunks = []
    for i in range(n):
        text = " ".join(rng.choice(pool) for _ in range(rng.randint(3, 6)))[:400]
        source = f"synthetic/{i % 20}.md"
        fields: dict[str, str | None] = {"source": source, "text": text, "i": str(i)}
        chunks.append(
            Chunk(
                chunk_id=chunk_id_for(fields),
                text=text,
                source=source,
                title=f"Synthetic document {i % 20}",
                kind="doc",
                category=f"c{i % 10}",
            )
        )
    return chunks


def build(kb: KnowledgeBase, chunks: list[Chunk], dim: int, seed: int) -> float:
    """Writes chunks with random unit vectors straight into the store; returns seconds."""
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    batch = 5000
    for start in range(0, len(chunks), batch):
        part = chunks[start : start + batch]
        vectors = normalize_rows(rng.standard_normal((len(part), dim)).astype(np.float32))
        kb._store.upsert(part, vectors)
    return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def measure(kb: KnowledgeBase, queries: list[str]) -> dict[str, float]:
    kb.retriever.query_vectors.clear()
    kb.search("warm up the model", 5)
    kb.retriever.query_vectors.clear()
    timings = []
    for query in queries:
        started = time.perf_counter()
        kb.search(query, 5)
        timings.append((time.perf_counter() - started) * 1000)
    filtered = []
    for query in queries[:50]:
        kb.retriever.query_vectors.clear()
        started = time.perf_counter()
        kb.search(query, 5, {"category": "c3"})
        filtered.append((time.perf_counter() - started) * 1000)
    embed = []
    for query in queries[:50]:
        started = time.perf_counter()
        kb.embedder.inner.embed_queries([query])
        embed.append((time.perf_counter() - started) * 1000)
    return {
        "search_ms_median": round(statistics.median(timings), 1),
        "search_ms_p95": round(percentile(timings, 95), 1),
        "filtered_search_ms_median": round(statistics.median(filtered), 1),
        "query_embedding_ms_median": round(statistics.median(embed), 1),
    }


def run_size(n: int, pool: list[str], queries: list[str], work: Path, seed: int) -> dict[str, Any]:
    settings = KnowledgeSettings(source_dirs=[], collection=f"latency{n}")
    embedder = E5Embedder()
    data_dir = work / f"n{n}"
    kb = KnowledgeBase.open(settings, data_dir, embedder)
    chunks = synthetic_chunks(pool, n, random.Random(seed))
    write_s = build(kb, chunks, embedder.dim, seed)
    started = time.perf_counter()
    kb._refresh_lexical()
    bm25_first_s = time.perf_counter() - started
    started = time.perf_counter()
    kb._refresh_lexical()  # what open() does after connecting: scan + BM25 from cached tokens
    reopen_s = time.perf_counter() - started
    result: dict[str, Any] = {
        "chunks": kb.stats().chunks,
        "write_vectors_s": round(write_s, 1),
        "bm25_build_with_tokenizing_s": round(bm25_first_s, 1),
        "reopen_s": round(reopen_s, 1),
    }
    result.update(measure(kb, queries))
    print(json.dumps({"size": n, **result}), flush=True)
    return result


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "# Retrieval latency",
        "",
        f"Machine: {results['machine']} ({results['load_average_at_end']} at end; the machine "
        "is shared, so other work competes for the two cores). "
        f"Command: `{results['command']}`.",
        "",
        "Hybrid search (e5 query embedding + Chroma HNSW + BM25 + RRF + calibration), k=5,",
        f"{results['n_queries']} real questions (stackfaq_en and cmrc2018_zh), one at a time.",
        "Indexes hold synthetic chunks (~300 characters of real Chinese and English sentences)",
        "with random vectors; see the script's docstring.",
        "",
        "| chunks | median ms | p95 ms | filtered median ms | query embedding ms | write vectors s"
        " | BM25 build (tokenising) s | reopen s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for size, r in results["sizes"].items():
        lines.append(
            f"| {int(size):,} | {r['search_ms_median']} | {r['search_ms_p95']} | "
            f"{r['filtered_search_ms_median']} | {r['query_embedding_ms_median']} | "
            f"{r['write_vectors_s']} | {r['bm25_build_with_tokenizing_s']} | {r['reopen_s']} |"
        )
    lines += [
        "",
        "Reopen: what `KnowledgeBase.open` costs after connecting: read every chunk's metadata "
        "from Chroma and rebuild BM25 from the cached tokens (no jieba). BM25 build "
        "(tokenising): the same on a cold cache.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--eval-dir", type=Path, default=ROOT.parent / "shared" / "eval")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--out-dir", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    pool = sentences(args.eval_dir)
    asked = [
        str(row["query"])
        for name in ("stackfaq_en", "cmrc2018_zh")
        for row in read_jsonl(args.eval_dir / name / "queries.jsonl")
    ]
    queries = rng.sample(asked, args.queries)
    results: dict[str, Any] = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f} at start",
        "command": "python benchmarks/retrieval_latency.py " + " ".join(sys.argv[1:]),
        "n_queries": len(queries),
        "sizes": {},
    }
    with tempfile.TemporaryDirectory(prefix="kefu-latency-") as folder:
        work = args.work_dir or Path(folder)
        for n in args.sizes:
            results["sizes"][str(n)] = run_size(n, pool, queries, work, args.seed)
    results["load_average_at_end"] = round(os.getloadavg()[0], 1)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "retrieval_latency.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out_dir / "retrieval_latency.md").write_text(markdown(results))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
