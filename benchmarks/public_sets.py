"""Builds the small public retrieval sets in ``benchmarks/data/public`` from their upstream files.

- ``covidfaq_en``: 68 COVID-19 FAQ entries (question + answer) and the real user questions
  collected for them (JHU-COVID-QA, as packaged in ML-Recipes/BERT-FAQ
  ``data/CovidFAQ/query_answer_pairs.json``). Each user question is a query whose relevant
  entry is the FAQ with the same answer.
- ``lcqmc_zh``: Chinese question matching (LCQMC dev split, Baidu Zhidao questions): the first
  question of each of 500 positive pairs is an FAQ "question", the second is the query; the
  first questions of 500 negative pairs are added to the corpus as distractors.

Queries keep upstream order; benchmarks tune on even rows and report odd rows.

Usage::

    python benchmarks/public_sets.py --bert-faq DIR --lcqmc DIR
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

OUT = Path(__file__).resolve().parent / "data" / "public"
LCQMC_PAIRS = 500


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def covidfaq(source: Path) -> None:
    pairs = json.loads(source.read_text(encoding="utf-8"))
    faq = {p["answer"]: p for p in pairs if p["query_type"] == "faq"}
    ids = {answer: f"covidfaq_{i}" for i, answer in enumerate(faq)}
    corpus = [
        {"id": ids[a], "title": p["question"].strip(), "text": f"{p['question'].strip()}\n{a}"}
        for a, p in faq.items()
    ]
    seen: set[str] = set()
    queries = []
    for p in pairs:
        text = " ".join(p["question"].split())
        if p["query_type"] != "user_query" or p["answer"] not in ids or text.lower() in seen:
            continue
        seen.add(text.lower())
        queries.append({"query": text, "relevant_ids": [ids[p["answer"]]]})
    write_jsonl(OUT / "covidfaq_en" / "corpus.jsonl", corpus)
    write_jsonl(OUT / "covidfaq_en" / "queries.jsonl", queries)


def lcqmc(source: Path) -> None:
    with source.open(encoding="utf-8") as handle:
        rows = [
            r for r in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE) if len(r) == 3
        ]
    positives = [r for r in rows if r[2] == "1"][:LCQMC_PAIRS]
    negatives = [r for r in rows if r[2] == "0"][:LCQMC_PAIRS]
    corpus: dict[str, str] = {}
    queries = []
    for a, b, _ in positives:
        doc = corpus.setdefault(a, f"lcqmc_{len(corpus)}")
        queries.append({"query": b, "relevant_ids": [doc]})
    for a, _, _ in negatives:
        corpus.setdefault(a, f"lcqmc_{len(corpus)}")
    docs = [{"id": i, "title": q, "text": q} for q, i in corpus.items()]
    write_jsonl(OUT / "lcqmc_zh" / "corpus.jsonl", docs)
    write_jsonl(OUT / "lcqmc_zh" / "queries.jsonl", queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--bert-faq", type=Path, required=True, help="ML-Recipes/BERT-FAQ")
    parser.add_argument("--lcqmc", type=Path, required=True, help="Chriszhangmw/LCQMC")
    args = parser.parse_args()
    covidfaq(args.bert_faq / "data" / "CovidFAQ" / "query_answer_pairs.json")
    lcqmc(args.lcqmc / "sourceData" / "lcqmc" / "lcqmc" / "dev.tsv")


if __name__ == "__main__":
    main()
