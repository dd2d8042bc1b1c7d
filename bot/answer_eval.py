"""``kefu eval answers``: retrieve and answer each query with the configured answer path, then
score the answers against the gold ones (ROUGE-1/2/L with Chinese segmentation, BLEU-4)."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.dialogue.policy import Thresholds, decide_answer
from core.errors import InputError
from core.metrics import bleu, mean_rouge
from core.settings import KnowledgeSettings
from core.text import detect_language
from knowledge.evaluation import index_corpus, read_jsonl


def gold_answer(row: dict[str, Any]) -> str | None:
    answer = row.get("answer")
    if isinstance(answer, str) and answer:
        return answer
    answers = row.get("answers")
    if isinstance(answers, list) and answers and isinstance(answers[0], str):
        return answers[0]
    return None


def run_answer_eval(
    settings: KnowledgeSettings, corpus_path: Path, queries_path: Path, limit: int | None = None
) -> dict[str, Any]:
    """Answers every query that has a gold answer with the extractive answer policy.

    Raises:
        InputError: when no query carries an ``answer`` or ``answers``.
    """
    rows = [
        (row["query"], gold)
        for row in read_jsonl(queries_path)
        if (gold := gold_answer(row)) is not None
    ][:limit]
    if not rows:
        raise InputError(f"{queries_path} has no query with an 'answer' or 'answers' field")
    # Every query is answered: the threshold is what `kefu serve` uses, but a "don't know"
    # scores zero here, so the numbers show the cost of honesty too.
    thresholds = Thresholds(faq=settings.faq_threshold, answer=settings.answer_threshold)
    with tempfile.TemporaryDirectory(prefix="kefu-eval-") as folder:
        kb = index_corpus(settings, corpus_path, Path(folder))
        answers, latencies, dont_know = [], [], 0
        for query, _ in rows:
            started = time.perf_counter()
            passages = kb.search(query, settings.top_k)
            answer = decide_answer(query, detect_language(query), passages, thresholds)
            latencies.append((time.perf_counter() - started) * 1000)
            dont_know += answer.kind.value == "dont_know"
            answers.append(answer.text)
    references = [gold for _, gold in rows]
    rouge = mean_rouge(references, answers)
    return {
        "answer_path": "extractive",
        "n_queries": len(rows),
        **{name: round(value, 4) for name, value in rouge.items()},
        "bleu4": round(bleu(references, answers), 4),
        "dont_know": dont_know,
        "latency_ms_median": round(statistics.median(latencies), 2),
    }
