"""The pipeline's "understand" step: intent, entities and sentiment of one message."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.dialogue.entities import Entities, ProductCatalogue, extract_entities
from bot.dialogue.intent_catalog import IntentAction, IntentPrediction
from bot.dialogue.intents import IntentClassifier
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
        self._catalogue = catalogue
        self._today = today
        self._frustration = frustration_threshold

    def understand(self, text: str) -> Understanding:
        prediction = self.classifier.predict(text)
        catalog = self.classifier.catalog
        spec = catalog.get(prediction.name) if catalog and prediction.name else None
        return Understanding(
            prediction=prediction,
            action=spec.action if spec else None,
            entities=extract_entities(text, self._catalogue, self._today()),
            sentiment=score_sentiment(text, frustration_threshold=self._frustration),
        )
