"""Retrieval metrics on a hand-computed example, and the corpus/queries evaluation command."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from core.settings import KnowledgeSettings
from knowledge.embeddings import HashingEmbedder
from knowledge.evaluation import LabelledQuery, evaluate_retrieval, run_retrieval_eval
from knowledge.types import Passage


def passage(doc_id: str) -> Passage:
    return Passage(f"c-{doc_id}", "text", "corpus.jsonl", "t", None, "doc", 0.5, doc_id=doc_id)


RESULTS = {
    # the relevant record at rank 1, rank 3 (after two chunks of one record at rank 1) and absent
    "q1": ["a", "b"],
    "q2": ["x", "x", "y", "a", "z"],
    "q3": ["x", "y"],
}


def fake_search(query: str, k: int) -> Sequence[Passage]:
    return [passage(doc_id) for doc_id in RESULTS[query][:k]]


def test_metrics_match_a_hand_computed_example() -> None:
    queries = [
        LabelledQuery("q1", frozenset({"a"})),
        LabelledQuery("q2", frozenset({"a", "q"})),
        LabelledQuery("q3", frozenset({"a"})),
        LabelledQuery("out of scope", frozenset()),
    ]
    metrics = evaluate_retrieval(fake_search, queries)
    # ranks after merging chunks of one record: 1, 3, none
    assert metrics["n_queries"] == 3
    assert metrics["hit@1"] == pytest.approx(1 / 3, abs=1e-4)
    assert metrics["hit@5"] == pytest.approx(2 / 3, abs=1e-4)
    assert metrics["mrr@10"] == pytest.approx((1 + 1 / 3) / 3, abs=1e-4)


def test_run_retrieval_eval_indexes_a_corpus_and_maps_hits_to_its_ids(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    queries = tmp_path / "queries.jsonl"
    records = [
        {"id": "md", "title": "Strikethrough in Markdown", "text": "Use two tildes around text."},
        {"id": "fb", "title": "Delete a Facebook account", "text": "Open the deletion page."},
        {"id": "py", "title": "Reverse a list in Python", "text": "Call reversed() or slice."},
    ]
    corpus.write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    asked = [
        {"query": "strikethrough markdown", "relevant_ids": ["md"]},
        {"query": "reverse a python list", "relevant_ids": ["py"]},
        {"query": "what is the weather", "relevant_ids": []},
    ]
    queries.write_text("\n".join(json.dumps(q) for q in asked), encoding="utf-8")
    settings = KnowledgeSettings(embedder="hashing")
    metrics = run_retrieval_eval(settings, corpus, queries, mode="bm25", embedder=HashingEmbedder())
    assert metrics["hit@1"] == 1.0
    assert (metrics["n_queries"], metrics["chunks"], metrics["mode"]) == (2, 3, "bm25")
