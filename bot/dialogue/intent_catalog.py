"""Intents as the deploying company defines them in YAML, and the classifier's verdict.

The file format is documented at the top of ``intents_demo.yaml``, the demo shop's file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from core.errors import ConfigError

DEMO_INTENTS_FILE = Path(__file__).resolve().parent / "intents_demo.yaml"

OOS_LABEL = "oos"
"""The label of out-of-scope examples in training and evaluation data."""

KNOWN_SLOTS = frozenset({"order_no", "phone", "email", "product", "amount", "date"})

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class IntentAction(StrEnum):
    """What the bot does when an intent is recognised."""

    ANSWER_KNOWLEDGE = "answer_knowledge"
    ORDER_STATUS = "order_status"
    REFUND_REQUEST = "refund_request"
    COMPLAINT = "complaint"
    HUMAN_AGENT = "human_agent"
    GREETING = "greeting"
    GOODBYE = "goodbye"
    RECOMMEND_PRODUCT = "recommend_product"
    SMALL_TALK = "small_talk"


@dataclass(slots=True, frozen=True)
class IntentSpec:
    """One intent from the YAML file."""

    name: str
    description: str
    action: IntentAction
    examples_zh: tuple[str, ...] = ()
    examples_en: tuple[str, ...] = ()
    slots: tuple[str, ...] = ()
    """Information the action needs ("order_no"); the bot asks for what is missing."""

    @property
    def examples(self) -> tuple[str, ...]:
        return self.examples_zh + self.examples_en


@dataclass(slots=True, frozen=True)
class IntentCatalog:
    """Every intent of one deployment, plus examples of what is out of scope."""

    intents: tuple[IntentSpec, ...]
    out_of_scope: tuple[str, ...] = ()
    fingerprint: str = ""
    """sha256 of the file's bytes: the classifier cache key."""

    def get(self, name: str | None) -> IntentSpec | None:
        return next((intent for intent in self.intents if intent.name == name), None)

    def required_slots(self) -> dict[str, tuple[str, ...]]:
        """Intent name -> the slots its action needs, for :func:`bot.dialogue.slots.advance`."""
        return {intent.name: intent.slots for intent in self.intents if intent.slots}

    def training_rows(self) -> list[tuple[str, str]]:
        """``(text, intent)`` pairs, out-of-scope examples labelled :data:`OOS_LABEL`."""
        rows = [(text, intent.name) for intent in self.intents for text in intent.examples]
        rows.extend((text, OOS_LABEL) for text in self.out_of_scope)
        return rows


@dataclass(slots=True, frozen=True)
class IntentPrediction:
    """The classifier's verdict on one message.

    ``name`` is None when the message is out of scope (below the confidence threshold);
    ``ranking`` holds the best intents with their probabilities, best first, either way.
    """

    name: str | None
    confidence: float
    ranking: tuple[tuple[str, float], ...] = ()
    source: str = "classifier"
    """"classifier", or "llm" when the LLM refined an unsure verdict."""
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "intent": self.name,
            "confidence": round(self.confidence, 4),
            "ranking": [[name, round(p, 4)] for name, p in self.ranking],
            "source": self.source,
        }


def load_intent_catalog(path: Path) -> IntentCatalog:
    """Reads and validates an intents YAML file.

    Raises:
        ConfigError: if the file is missing, is not valid YAML, or breaks the format
            (unknown action or slot, duplicate name, an intent without examples).
    """
    try:
        raw = path.read_bytes()
        document = yaml.safe_load(raw)
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"cannot read intents file {path}: {e}") from e
    if not isinstance(document, dict) or not isinstance(document.get("intents"), list):
        raise ConfigError(f"{path}: expected a mapping with an 'intents' list")
    intents = tuple(_parse_intent(item, path) for item in document["intents"])
    names = [intent.name for intent in intents]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ConfigError(f"{path}: duplicate intent names {duplicates}")
    if len(intents) < 2:
        raise ConfigError(f"{path}: at least two intents are needed to train a classifier")
    out_of_scope = _strings(document.get("out_of_scope") or [], f"{path}: out_of_scope")
    return IntentCatalog(intents, out_of_scope, hashlib.sha256(raw).hexdigest())


def _parse_intent(item: Any, path: Path) -> IntentSpec:
    if not isinstance(item, dict):
        raise ConfigError(f"{path}: every intent must be a mapping, got {item!r}")
    name = str(item.get("name", ""))
    where = f"{path}: intent {name!r}"
    if not _NAME.match(name) or name == OOS_LABEL:
        raise ConfigError(f"{where}: name must be an identifier other than {OOS_LABEL!r}")
    try:
        action = IntentAction(str(item.get("action")))
    except ValueError as e:
        allowed = ", ".join(a.value for a in IntentAction)
        raise ConfigError(f"{where}: action must be one of {allowed}") from e
    slots = _strings(item.get("slots") or [], f"{where}: slots")
    unknown = sorted(set(slots) - KNOWN_SLOTS)
    if unknown:
        raise ConfigError(f"{where}: unknown slots {unknown}; known: {sorted(KNOWN_SLOTS)}")
    examples = item.get("examples") or {}
    if not isinstance(examples, dict):
        raise ConfigError(f"{where}: examples must map a language (zh, en) to a list")
    zh = _strings(examples.get("zh") or [], f"{where}: examples.zh")
    en = _strings(examples.get("en") or [], f"{where}: examples.en")
    if len(zh) + len(en) < 2:
        raise ConfigError(f"{where}: needs at least two examples")
    return IntentSpec(name, str(item.get("description", "")), action, zh, en, slots)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ConfigError(f"{where}: expected a list of strings")
    texts = tuple(str(v).strip() for v in value if str(v).strip())
    return tuple(dict.fromkeys(texts))
