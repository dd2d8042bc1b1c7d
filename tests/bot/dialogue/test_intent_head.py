"""The hidden-layer intent head: what it separates that the linear head cannot, out-of-scope
rejection, and reproducible training."""

from __future__ import annotations

import numpy as np
import pytest

from bot.dialogue.intent_catalog import OOS_LABEL
from bot.dialogue.intent_head import HeadOptions, MLPHead
from bot.dialogue.intent_model import IntentModel, TrainingOptions, train_intent_model

DIM = 16


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _checkerboard(per_cluster: int, seed: int) -> tuple[np.ndarray, list[str]]:
    """Two intents, each asked about in two opposite ways (clusters at +-a and +-b).

    Every intent's mean is the origin, so no linear boundary tells them apart: like
    "cancel my order" and "cancel my subscription" sharing words with each other's opposite.
    """
    rng = np.random.default_rng(seed)
    dim = 4
    a, b = np.eye(dim)[0] + np.eye(dim)[1], np.eye(dim)[0] - np.eye(dim)[1]
    centres = [(a, "cancel_order"), (-a, "cancel_order"), (b, "cancel_plan"), (-b, "cancel_plan")]
    rows, labels = [], []
    for centre, label in centres:
        rows.append(centre + 0.15 * rng.normal(size=(per_cluster, dim)))
        labels += [label] * per_cluster
    return _unit(np.vstack(rows)), labels


def _accuracy(model: IntentModel, embeddings: np.ndarray, labels: list[str]) -> float:
    texts = [""] * len(labels)
    verdicts = model.predict(embeddings, texts)
    top = [v.ranking[0][0] for v in verdicts]
    return float(np.mean([name == label for name, label in zip(top, labels, strict=True)]))


def test_the_hidden_layer_separates_intents_the_linear_head_confuses() -> None:
    train, train_labels = _checkerboard(25, seed=0)
    test, test_labels = _checkerboard(25, seed=1)
    texts = [""] * len(train_labels)

    linear = train_intent_model(texts, train_labels, train, TrainingOptions(head="linear"))
    mlp = train_intent_model(texts, train_labels, train)

    assert _accuracy(mlp, test, test_labels) >= 0.95
    assert _accuracy(linear, test, test_labels) <= 0.75


def _topics(per_intent: int, seed: int) -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    rows, labels = [], []
    for i, name in enumerate(["refund", "delivery", "greeting", "invoice"]):
        rows.append(np.eye(DIM)[i] + 0.2 * rng.normal(size=(per_intent, DIM)))
        labels += [name] * per_intent
    return _unit(np.vstack(rows)), labels


def test_messages_unlike_every_intent_are_rejected_and_the_rest_kept() -> None:
    train, labels = _topics(30, seed=0)
    rng = np.random.default_rng(2)
    # A few out-of-scope examples in training (off-topic requests of four kinds), new ones of
    # the same kinds at test time.
    off_topic = np.eye(DIM)[8:12]
    oos_train = _unit(off_topic.repeat(4, axis=0) + 0.3 * rng.normal(size=(16, DIM)))
    model = train_intent_model(
        [""] * (len(labels) + 16),
        labels + [OOS_LABEL] * 16,
        np.vstack([train, oos_train]),
    )
    test, test_labels = _topics(20, seed=1)
    unseen = _unit(off_topic.repeat(5, axis=0) + 0.3 * rng.normal(size=(20, DIM)))

    in_scope = model.predict(test, [""] * len(test))
    out_of_scope = model.predict(unseen, [""] * len(unseen))

    kept = np.mean([v.name == label for v, label in zip(in_scope, test_labels, strict=True)])
    rejected = np.mean([v.name is None for v in out_of_scope])
    assert kept >= 0.9
    assert rejected >= 0.8


def test_training_twice_gives_the_same_verdicts() -> None:
    train, labels = _topics(10, seed=0)
    test, _ = _topics(5, seed=3)

    first = MLPHead(HeadOptions(epochs=5, min_steps=20)).fit(train, labels)
    second = MLPHead(HeadOptions(epochs=5, min_steps=20)).fit(train, labels)

    np.testing.assert_allclose(first.decision_function(test), second.decision_function(test))


def test_an_unfitted_head_says_so() -> None:
    with pytest.raises(RuntimeError, match="not fitted"):
        MLPHead().decision_function(np.zeros((1, DIM)))
