"""The intent classifier: training from the YAML, the out-of-scope threshold, the cache and
the LLM refinement."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.dialogue.intent_catalog import (
    DEMO_INTENTS_FILE,
    IntentAction,
    IntentPrediction,
    load_intent_catalog,
)
from bot.dialogue.intents import IntentClassifier, load_intent_classifier, refine_intent
from core.errors import ConfigError, LLMError
from tests.bot.dialogue.conftest import HashingEmbedder

SMALL_YAML = """
intents:
  - name: order_status
    description: Where is my order
    action: order_status
    slots: [order_no]
    examples:
      zh: [我的订单到哪了, 快递什么时候到, 查一下物流, 订单发货了吗]
      en: [where is my order, track my parcel, when will my package arrive, has it shipped]
  - name: greeting
    description: Hello
    action: greeting
    examples:
      zh: [你好, 在吗, 早上好, 您好]
      en: [hello, hi there, good morning, hey]
  - name: human_agent
    description: A real person
    action: human_agent
    examples:
      zh: [转人工, 人工客服, 我要找真人, 接通人工]
      en: [talk to a human, real person please, connect me to an agent, live agent]
"""


@pytest.fixture(scope="module")
def demo_classifier() -> IntentClassifier:
    catalog = load_intent_catalog(DEMO_INTENTS_FILE)
    return IntentClassifier.train(catalog.training_rows(), HashingEmbedder(), catalog=catalog)


def test_demo_intents_cover_every_action_with_examples_in_both_languages() -> None:
    catalog = load_intent_catalog(DEMO_INTENTS_FILE)

    assert {intent.action for intent in catalog.intents} == set(IntentAction)
    for intent in catalog.intents:
        assert 10 <= len(intent.examples_zh) <= 20, intent.name
        assert 10 <= len(intent.examples_en) <= 20, intent.name
    assert catalog.required_slots()["order_status"] == ("order_no",)
    assert catalog.out_of_scope


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("我的订单什么时候能到", "order_status"),
        ("where is my parcel", "order_status"),
        ("我想退货", "refund_request"),
        ("推荐一款降噪耳机", "recommend_product"),
        ("I want to talk to a person", "human_agent"),
        ("谢谢你", "goodbye"),
    ],
)
def test_messages_in_scope_get_their_intent(
    demo_classifier: IntentClassifier, text: str, intent: str
) -> None:
    prediction = demo_classifier.predict(text)

    assert prediction.name == intent
    assert prediction.confidence >= demo_classifier.threshold
    assert prediction.ranking[0][0] == intent


@pytest.mark.parametrize("text", ["write a poem about cats", "帮我订一张去北京的机票"])
def test_clearly_out_of_scope_messages_match_no_intent(
    demo_classifier: IntentClassifier, text: str
) -> None:
    prediction = demo_classifier.predict(text)

    assert prediction.name is None
    assert prediction.ranking, "the best guesses are still reported"


def test_a_stricter_threshold_rejects_what_the_learned_one_accepts(
    demo_classifier: IntentClassifier,
) -> None:
    learned = demo_classifier.predict("where is my parcel")
    strict = demo_classifier.with_threshold(0.999).predict("where is my parcel")

    assert 0.0 < demo_classifier.threshold < 1.0
    assert learned.name == "order_status"
    assert strict.name is None
    assert strict.confidence == pytest.approx(learned.confidence)


def test_the_threshold_is_chosen_on_held_out_rows(
    demo_classifier: IntentClassifier,
) -> None:
    choice = demo_classifier.model.choice

    assert choice.method == "in_scope_keep"
    assert choice.holdout_rows == len(load_intent_catalog(DEMO_INTENTS_FILE).training_rows())
    assert choice.in_scope_accuracy is not None
    assert choice.oos_recall is not None, "held-out out-of-scope examples are measured too"


def test_a_yaml_without_out_of_scope_examples_still_gets_a_threshold(
    tmp_path: Path, embedder: HashingEmbedder
) -> None:
    path = tmp_path / "intents.yaml"
    path.write_text(SMALL_YAML, encoding="utf-8")

    classifier = load_intent_classifier(path, embedder, embedder_name="hash", cache_dir=None)

    assert classifier.model.choice.oos_recall is None
    assert classifier.predict("转人工客服").name == "human_agent"


def test_the_cached_model_is_reused_until_the_yaml_changes(
    tmp_path: Path, embedder: HashingEmbedder
) -> None:
    path = tmp_path / "intents.yaml"
    path.write_text(SMALL_YAML, encoding="utf-8")
    cache = tmp_path / "models"

    load_intent_classifier(path, embedder, embedder_name="hash", cache_dir=cache)
    trained_with = embedder.calls
    embedder.calls = 0
    reused = load_intent_classifier(path, embedder, embedder_name="hash", cache_dir=cache)

    assert trained_with >= 24
    assert embedder.calls == 0, "nothing was re-embedded: the model came from the cache"
    assert reused.predict("hello").name == "greeting"

    path.write_text(SMALL_YAML.replace("live agent", "live agent now"), encoding="utf-8")
    embedder.calls = 0
    load_intent_classifier(path, embedder, embedder_name="hash", cache_dir=cache)

    assert embedder.calls >= 24, "the changed YAML was trained on"
    assert len(list(cache.glob("intents-*.joblib"))) == 1, "the stale model was removed"


def test_another_embedder_does_not_reuse_the_cache(
    tmp_path: Path, embedder: HashingEmbedder
) -> None:
    path = tmp_path / "intents.yaml"
    path.write_text(SMALL_YAML, encoding="utf-8")
    cache = tmp_path / "models"
    load_intent_classifier(path, embedder, embedder_name="hash", cache_dir=cache)
    embedder.calls = 0

    load_intent_classifier(path, embedder, embedder_name="other-model", cache_dir=cache)

    assert embedder.calls >= 24


def test_a_corrupt_cache_file_only_costs_a_retrain(
    tmp_path: Path, embedder: HashingEmbedder
) -> None:
    path = tmp_path / "intents.yaml"
    path.write_text(SMALL_YAML, encoding="utf-8")
    cache = tmp_path / "models"
    load_intent_classifier(path, embedder, embedder_name="hash", cache_dir=cache)
    for cached in cache.glob("intents-*.joblib"):
        cached.write_bytes(b"not a model")

    classifier = load_intent_classifier(path, embedder, embedder_name="hash", cache_dir=cache)

    assert classifier.predict("hello").name == "greeting"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("action: greeting", "action: dance"), "action must be one of"),
        (("slots: [order_no]", "slots: [shoe_size]"), "unknown slots"),
        (("name: greeting", "name: order_status"), "duplicate intent names"),
        (("name: greeting", "name: oos"), "name must be an identifier"),
    ],
)
def test_a_broken_intents_file_is_refused_with_the_reason(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    path = tmp_path / "intents.yaml"
    path.write_text(SMALL_YAML.replace(*change), encoding="utf-8")

    with pytest.raises(ConfigError, match=message):
        load_intent_catalog(path)


def test_a_missing_intents_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_intent_catalog(tmp_path / "nope.yaml")


UNSURE = IntentPrediction(None, 0.3, (("complaint", 0.3), ("refund_request", 0.25)))


async def test_the_llm_settles_an_unsure_verdict() -> None:
    catalog = load_intent_catalog(DEMO_INTENTS_FILE)
    prompts: list[str] = []

    async def llm(prompt: str) -> str:
        prompts.append(prompt)
        return "refund_request"

    refined = await refine_intent("东西坏了钱能退吗", UNSURE, catalog, llm, unsure_below=0.6)

    assert refined.name == "refund_request"
    assert refined.source == "llm"
    assert refined.confidence == pytest.approx(0.25)
    assert "refund_request:" in prompts[0] and "东西坏了钱能退吗" in prompts[0]


async def test_the_llm_is_not_asked_when_the_classifier_is_sure() -> None:
    catalog = load_intent_catalog(DEMO_INTENTS_FILE)
    sure = IntentPrediction("greeting", 0.97, (("greeting", 0.97),))

    async def llm(prompt: str) -> str:
        raise AssertionError("should not be called")

    assert await refine_intent("hi", sure, catalog, llm, unsure_below=0.6) is sure


@pytest.mark.parametrize("answer", ["I think it is about shoes", "greeting or goodbye"])
async def test_an_llm_answer_that_names_no_single_intent_is_ignored(answer: str) -> None:
    catalog = load_intent_catalog(DEMO_INTENTS_FILE)

    async def llm(prompt: str) -> str:
        return answer

    assert await refine_intent("hmm", UNSURE, catalog, llm, unsure_below=0.6) is UNSURE


async def test_a_failing_llm_leaves_the_classifier_verdict() -> None:
    catalog = load_intent_catalog(DEMO_INTENTS_FILE)

    async def llm(prompt: str) -> str:
        raise LLMError("backend down")

    assert await refine_intent("hmm", UNSURE, catalog, llm, unsure_below=0.6) is UNSURE


async def test_the_llm_may_say_none_fits() -> None:
    catalog = load_intent_catalog(DEMO_INTENTS_FILE)
    guess = IntentPrediction("small_talk", 0.4, (("small_talk", 0.4),))

    async def llm(prompt: str) -> str:
        return "none"

    refined = await refine_intent("股票怎么买", guess, catalog, llm, unsure_below=0.6)

    assert refined.name is None
    assert refined.source == "llm"


def test_one_example_per_intent_still_trains_with_the_default_threshold(
    embedder: HashingEmbedder,
) -> None:
    rows = [("hello", "greeting"), ("转人工", "human_agent")]

    classifier = IntentClassifier.train(rows, embedder)

    assert classifier.model.choice.method == "default"
    assert classifier.predict("转人工").ranking[0][0] == "human_agent"
