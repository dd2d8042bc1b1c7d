"""``kefu eval intents``: loaders and the report."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from bot.dialogue.evaluation import (
    LabelledRow,
    evaluate_intents,
    load_labelled_rows,
    run_intent_eval,
)
from core.errors import InputError
from tests.bot.dialogue.conftest import HashingEmbedder

TOPICS = {
    "weather": ["weather", "rain", "sunny", "forecast", "temperature", "snow"],
    "music": ["song", "music", "playlist", "album", "singer", "radio"],
    "banking": ["balance", "transfer", "account", "bank", "deposit", "card"],
}
OOS = [
    "how tall is everest",
    "who painted the mona lisa",
    "what is photosynthesis",
    "recipe for pancakes",
    "tell me about volcanoes",
    "translate hello to german",
    "how do magnets work",
    "history of rome",
]


def _rows(variant: int) -> list[LabelledRow]:
    templates = ["what about the {w}", "tell me the {w} please", "{w} now", "show {w} info"]
    rows = []
    for intent, words in TOPICS.items():
        for i, word in enumerate(words):
            template = templates[(i + variant) % len(templates)]
            rows.append(LabelledRow(template.format(w=word), intent))
            rows.append(LabelledRow(f"{word} {template.format(w=word)}", intent))
    return rows


def _write_csv(path: Path, rows: list[LabelledRow]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "intent"])
        writer.writerows((row.text, row.label) for row in rows)


def test_the_report_has_what_a_reviewer_asks_for(embedder: HashingEmbedder) -> None:
    train = _rows(0) + [LabelledRow(t, "oos") for t in OOS[:4]]
    test = _rows(1) + [LabelledRow(t, "oos") for t in OOS[4:]]

    report = evaluate_intents(train, test, embedder)

    assert report["train_rows"] == len(train) and report["test_rows"] == len(test)
    assert report["intents"] == 3
    assert report["oos_test_rows"] == 4
    assert report["in_scope_accuracy"] >= 0.8
    assert report["oos_recall"] is not None
    assert 0.0 <= report["macro_f1"] <= 1.0
    assert set(report["per_intent_f1"]) == set(TOPICS)
    assert report["threshold_choice"]["method"] == "in_scope_keep"
    assert report["train_seconds"] > 0 and report["median_latency_ms"] > 0
    for pair in report["confusions"]:
        assert pair["true"] != pair["predicted"] and pair["count"] >= 1
    json.dumps(report)


def test_a_fixed_threshold_of_one_rejects_everything(embedder: HashingEmbedder) -> None:
    train = _rows(0) + [LabelledRow(t, "oos") for t in OOS[:4]]
    test = _rows(1) + [LabelledRow(t, "oos") for t in OOS[4:]]

    report = evaluate_intents(train, test, embedder, threshold=1.0)

    assert report["threshold"] == 1.0
    assert report["in_scope_accuracy"] == 0.0
    assert report["oos_recall"] == 1.0


def test_without_oos_rows_accuracy_is_top1(embedder: HashingEmbedder) -> None:
    report = evaluate_intents(_rows(0), _rows(1), embedder, threshold=1.0)

    assert report["oos_recall"] is None
    assert report["accuracy"] == report["in_scope_accuracy_top1"] >= 0.8
    assert report["rejected_share"] == 1.0


def test_csv_and_jsonl_files_with_a_custom_label_field(
    tmp_path: Path, embedder: HashingEmbedder
) -> None:
    train_path = tmp_path / "train.csv"
    _write_csv(train_path, _rows(0))
    test_path = tmp_path / "test.jsonl"
    test_path.write_text(
        "\n".join(
            json.dumps(
                {"text": row.text, "domain": row.label, "intent": "QUERY"}, ensure_ascii=False
            )
            for row in _rows(1)
        ),
        encoding="utf-8",
    )

    with pytest.raises(InputError, match="domain"):
        load_labelled_rows(train_path, "domain")
    assert {row.label for row in load_labelled_rows(test_path)} == {"QUERY"}
    assert {row.label for row in load_labelled_rows(test_path, "domain")} == set(TOPICS)

    rows_train = tmp_path / "train.jsonl"
    rows_train.write_text(
        "\n".join(json.dumps({"text": r.text, "domain": r.label}) for r in _rows(0)),
        encoding="utf-8",
    )
    report = run_intent_eval(rows_train, test_path, label_field="domain", embed=embedder)

    assert report["label_field"] == "domain"
    assert report["accuracy"] >= 0.8


def test_a_jsonl_file_with_label_instead_of_intent(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"text": "hi", "label": "greet"}\n\n{"text": "yo", "label": "greet"}\n')

    assert load_labelled_rows(path) == [LabelledRow("hi", "greet"), LabelledRow("yo", "greet")]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("rows.jsonl", '{"text": "hi"}\n', "row 1"),
        ("rows.jsonl", "{not json\n", "cannot read"),
        ("rows.csv", "text,intent\n", "no rows"),
    ],
)
def test_unusable_files_say_what_is_wrong(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")

    with pytest.raises(InputError, match=message):
        load_labelled_rows(path)


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        load_labelled_rows(tmp_path / "missing.csv")


def test_a_rerun_reads_the_embeddings_from_the_cache(
    tmp_path: Path, embedder: HashingEmbedder
) -> None:
    train_path, test_path = tmp_path / "train.csv", tmp_path / "test.csv"
    _write_csv(train_path, _rows(0))
    _write_csv(test_path, _rows(1))
    cache = tmp_path / "cache"

    first = run_intent_eval(
        train_path, test_path, embed=embedder, embedder_name="hash", cache_dir=cache
    )
    embedder.calls = 0
    second = run_intent_eval(
        train_path, test_path, embed=embedder, embedder_name="hash", cache_dir=cache
    )

    assert first["embeddings_computed"] == len({r.text for r in _rows(0) + _rows(1)})
    assert second["embeddings_computed"] == 0
    assert embedder.calls <= 100, "only the latency sample is embedded again"
    assert second["accuracy"] == first["accuracy"]
