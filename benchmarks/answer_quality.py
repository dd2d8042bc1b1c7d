"""Answer quality and speed on CMRC 2018 (Chinese reading comprehension): retrieve, answer, score.

Each question is answered from the knowledge base built over the CMRC corpus, either
extractively (``--backend none``: the bot's own best-sentence quoting, what it does with no LLM)
or by the configured LLM through the grounded RAG chain (``openai`` / ``transformers``, from
``KEFU_LLM__...`` settings). Answers are scored against the gold spans with ROUGE-1/2/L over
jieba words (rouge-score with a jieba tokenizer; the best over the gold answers) and corpus
BLEU-4 (sacrebleu, ``tokenize="zh"``). LLM runs also report time to first token and tokens/s.

    .venv/bin/python benchmarks/answer_quality.py --backend none [--limit 200]
    KEFU_LLM__BASE_URL=http://gpu:8000/v1 KEFU_LLM__MODEL=Qwen2.5-7B-Instruct \\
        .venv/bin/python benchmarks/answer_quality.py --backend openai --limit 200

Writes benchmarks/results/answer_quality_<backend>.json and prints it as the last line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jieba
import sacrebleu
from rouge_score import rouge_scorer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.dialogue.policy import best_sentences  # noqa: E402
from core.llm import ChatBackend, make_backend  # noqa: E402
from core.settings import KefuSettings  # noqa: E402
from knowledge.evaluation import index_corpus, read_jsonl  # noqa: E402
from knowledge.rag_chain import generate_grounded_answer  # noqa: E402
from knowledge.types import Passage  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
CITATION_MARK = re.compile(r"\[\d+\]")


class JiebaTokenizer:
    """rouge-score tokenizer: jieba words, without spaces and punctuation."""

    def tokenize(self, text: str) -> list[str]:
        return [w for w in jieba.lcut(text) if w.strip() and any(c.isalnum() for c in w)]


def rouge(scorer: rouge_scorer.RougeScorer, answer: str, golds: Sequence[str]) -> dict[str, float]:
    """F1 and recall of each ROUGE type, best over the gold answers."""
    best: dict[str, float] = {}
    for gold in golds:
        for name, score in scorer.score(gold, answer).items():
            best[f"{name}_f"] = max(best.get(f"{name}_f", 0.0), score.fmeasure)
            best[f"{name}_r"] = max(best.get(f"{name}_r", 0.0), score.recall)
    return best


def bleu4(answers: Sequence[str], golds: Sequence[Sequence[str]]) -> float:
    """Corpus BLEU-4 with sacrebleu's Chinese tokenisation; every question gets as many
    reference streams as the question with the most gold answers (shorter lists repeat their
    first answer, which changes no n-gram counts)."""
    width = max(len(g) for g in golds)
    streams = [[g[i] if i < len(g) else g[0] for g in golds] for i in range(width)]
    # 0-1 like ROUGE and `kefu eval answers` (sacrebleu reports 0-100)
    return float(sacrebleu.corpus_bleu(list(answers), streams, tokenize="zh").score) / 100


async def answer_with_llm(
    backend: ChatBackend, question: str, passages: Sequence[Passage]
) -> dict[str, Any]:
    pieces: list[str] = []
    started = time.perf_counter()
    first: list[float] = []

    async def sink(piece: str) -> None:
        if not first:
            first.append(time.perf_counter() - started)
        pieces.append(piece)

    answer = await generate_grounded_answer(backend, question, [], passages, "zh", stream_to=sink)
    elapsed = time.perf_counter() - started
    inner = getattr(backend, "inner", backend)
    count = getattr(inner, "count_tokens", None)
    tokens = count(answer.text) if count else len(pieces)
    ttft = first[0] if first else elapsed
    return {
        "text": CITATION_MARK.sub("", answer.text),  # scored without the [n] markers
        "substantive": answer.substantive,
        "dont_know": answer.dont_know,
        "ttft_s": ttft,
        "tokens": tokens,
        "tokens_per_s": tokens / (elapsed - ttft) if elapsed > ttft and tokens > 1 else None,
    }


def answer_extractively(question: str, passages: Sequence[Passage], sentences: int) -> str:
    return best_sentences(question, passages[0].text, limit=sentences) if passages else ""


def retrieve_all(
    args: argparse.Namespace, queries: Sequence[dict[str, Any]], folder: Path
) -> tuple[list[tuple[list[Passage], float]], float]:
    """Indexes the corpus (reusing ``folder`` if it already holds the index) and retrieves
    the top ``k`` passages of every question, with the retrieval time."""
    knowledge = KefuSettings().knowledge.model_copy(update={"embedder": args.embedder})
    started = time.perf_counter()
    kb = index_corpus(knowledge, Path(args.eval_dir) / "cmrc2018_zh" / "corpus.jsonl", folder)
    index_s = time.perf_counter() - started
    retrieved = []
    for query in queries:
        t0 = time.perf_counter()
        passages = kb.search(query["query"], args.k)
        retrieved.append((passages, time.perf_counter() - t0))
    return retrieved, index_s


async def answer_all(
    args: argparse.Namespace,
    backend: ChatBackend | None,
    queries: Sequence[dict[str, Any]],
    retrieved: Sequence[tuple[list[Passage], float]],
    sentences: int,
) -> list[dict[str, Any]]:
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], tokenizer=JiebaTokenizer())
    rows: list[dict[str, Any]] = []
    for query, (passages, retrieval_s) in zip(queries, retrieved, strict=True):
        t0 = time.perf_counter()
        if backend is None:
            row: dict[str, Any] = {"text": answer_extractively(query["query"], passages, sentences)}
        else:
            row = await answer_with_llm(backend, query["query"], passages)
        row["answer_s"] = time.perf_counter() - t0
        row["retrieval_s"] = retrieval_s
        row["golds"] = query.get("answers") or [query["answer"]]
        row["hit1"] = bool(passages) and passages[0].doc_id in query["relevant_ids"]
        row.update(rouge(scorer, row["text"], row["golds"]))
        rows.append(row)
    return rows


async def run(args: argparse.Namespace) -> dict[str, Any]:
    llm = KefuSettings().llm.model_copy(update={"backend": args.backend})
    queries = read_jsonl(Path(args.eval_dir) / "cmrc2018_zh" / "queries.jsonl")[: args.limit]
    with tempfile.TemporaryDirectory(prefix="kefu-answers-") as scratch:
        retrieved, index_s = retrieve_all(args, queries, Path(args.index_dir or scratch))
    backend = make_backend(llm)
    if backend is None:
        result = summarise(await answer_all(args, None, queries, retrieved, 3), args, None)
        one = summarise(await answer_all(args, None, queries, retrieved, 1), args, None)
        result["answering"] = "best 3 sentences of the top passage (the bot's extractive mode)"
        result["variants"] = {"best_1_sentence": one}
    else:
        try:
            rows = await answer_all(args, backend, queries, retrieved, 0)
        finally:
            await backend.close()
        result = summarise(rows, args, llm.model)
        result["answering"] = f"grounded RAG chain over the top {args.k} passages"
        result["unusable_rate"] = _mean([{"u": float(not r["substantive"])} for r in rows], "u")
        as_bot = await as_the_bot_answers(args, rows, queries, retrieved)
        result["variants"] = {"as_the_bot_answers": summarise(as_bot, args, llm.model)}
    result["index_seconds"] = round(index_s, 1)
    return result


async def as_the_bot_answers(
    args: argparse.Namespace,
    rows: Sequence[dict[str, Any]],
    queries: Sequence[dict[str, Any]],
    retrieved: Sequence[tuple[list[Passage], float]],
) -> list[dict[str, Any]]:
    """The LLM's rows with the bot's fallback applied: an answer without content ("[1]") is
    replaced by the extractive one, as :func:`bot.generation.generated_answer` does."""
    extractive = await answer_all(args, None, queries, retrieved, 3)
    return [
        row if row["substantive"] else {**quoted, **_speed(row)}
        for row, quoted in zip(rows, extractive, strict=True)
    ]


def _speed(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("answer_s", "ttft_s", "tokens_per_s", "dont_know") if k in row}


def _mean(rows: Sequence[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return round(statistics.fmean(values), 4) if values else None


def _median(rows: Sequence[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return round(statistics.median(values), 4) if values else None


def summarise(
    rows: Sequence[dict[str, Any]], args: argparse.Namespace, model: str | None
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "dataset": "cmrc2018_zh",
        "backend": args.backend,
        "model": model,
        "embedder": args.embedder,
        "questions": len(rows),
        "retrieval_hit1": _mean([{"h": float(r["hit1"])} for r in rows], "h"),
        "gold_in_answer": _mean(
            [{"c": float(any(g in r["text"] for g in r["golds"]))} for r in rows], "c"
        ),
        "bleu4": round(bleu4([r["text"] for r in rows], [r["golds"] for r in rows]), 4),
        "mean_answer_chars": _mean([{"n": len(r["text"])} for r in rows], "n"),
        "answer_latency_s_median": _median(rows, "answer_s"),
        "retrieval_latency_s_median": _median(rows, "retrieval_s"),
    }
    for name in ("rouge1", "rouge2", "rougeL"):
        result[f"{name}_f"] = _mean(rows, f"{name}_f")
        result[f"{name}_recall"] = _mean(rows, f"{name}_r")
    if args.backend != "none":
        result["ttft_s_median"] = _median(rows, "ttft_s")
        result["tokens_per_s_median"] = _median(rows, "tokens_per_s")
        result["dont_know_rate"] = _mean([{"d": float(r["dont_know"])} for r in rows], "d")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", default=str(ROOT.parent / "shared" / "eval"))
    parser.add_argument("--backend", choices=["none", "openai", "transformers"], default="none")
    parser.add_argument("--limit", type=int, default=None, help="first N questions only")
    parser.add_argument("--k", type=int, default=3, help="passages given to the LLM")
    parser.add_argument("--index-dir", help="keep the index here and reuse it on later runs")
    parser.add_argument(
        "--embedder", default="e5", choices=["e5", "use", "hashing", "sentence-transformers"]
    )
    parser.add_argument("--name", help="added to the result file's name, e.g. the model")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = args.backend if args.embedder == "e5" else f"{args.backend}_{args.embedder}"
    if args.limit:
        name += f"_{args.limit}q"
    if args.name:
        name += f"_{args.name}"
    (RESULTS / f"answer_quality_{name}.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
