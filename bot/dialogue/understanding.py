"""The pipeline's "understand" step: intent, entities and sentiment of one message.

With a model configured, :meth:`Understander.with_llm` lets it re-classify a message the
classifier is unsure of and add entities the rules missed (both validated, both optional).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from bot.dialogue.entities import Entities, ProductCatalogue, extract_entities
from bot.dialogue.entity_llm import extract_entities_with_llm
from bot.dialogue.intent_catalog import IntentAction, IntentPrediction
from bot.dialogue.intents import IntentClassifier, refine_intent
from bot.dialogue.llm_hooks import LLMComplete
from bot.dialogue.sentiment import Sentiment, score_sentiment


@dataclass(slots=True, frozen=True)
class Understanding:
    prediction: IntentPrediction
    action: IntentAction | None
    """What the intent asks the bot to do; None when out of scope (a knowledge question)."""
    entities: Entities
    sentiment: Sentiment

    @property
    def intent(self) -> str | None:
        return self.prediction.name

    def to_json(self) -> dict[str, Any]:
        """The payload of the UNDERSTANDING event."""
        return {
            "intent": self.prediction.name,
            "confidence": round(self.prediction.confidence, 4),
            "action": self.action.value if self.action else None,
            "entities": self.entities.to_json(),
            "sentiment": round(self.sentiment.score, 3),
            "frustrated": self.sentiment.frustrated,
        }


class Understander:
    """Classifies, extracts and scores one message (CPU work: call it in a thread)."""

    def __init__(
        self,
        classifier: IntentClassifier,
        catalogue: ProductCatalogue,
        today: Callable[[], date],
        frustration_threshold: float,
    ) -> None:
        self.classifier = classifier
        self.catalogue = catalogue
        self._today = today
        self._frustration = frustration_threshold

    def understand(self, text: str) -> Understanding:
        prediction = self.classifier.predict(text)
        catalog = self.classifier.catalog
        spec = catalog.get(prediction.name) if catalog and prediction.name else None
        return Understanding(
            prediction=prediction,
            action=spec.action if spec else None,
            entities=extract_entities(text, self.catalogue, self._today()),
            sentiment=score_sentiment(text, frustration_threshold=self._frustration),
        )

    async def with_llm(
        self,
        understood: Understanding,
        text: str,
        complete: LLMComplete,
        *,
        refine_below: float | None,
        entities: bool,
    ) -> Understanding:
        """``understood`` with the model's help: the intent re-classified when the classifier
        is less sure than ``refine_below`` (None: never), the model's entities added when
        ``entities``. A failing or nonsensical model changes nothing."""
        prediction, found = understood.prediction, understood.entities
        catalog = self.classifier.catalog
        if refine_below is not None and catalog is not None:
            prediction = await refine_intent(
                text, prediction, catalog, complete, unsure_below=refine_below
            )
        if entities:
            found = await extract_entities_with_llm(text, self.catalogue, self._today(), complete)
        spec = catalog.get(prediction.name) if catalog and prediction.name else None
        return replace(
            understood,
            prediction=prediction,
            action=spec.action if spec else None,
            entities=found,
        )
