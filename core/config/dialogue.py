"""Understanding the customer: intents, slots, sentiment, recommendations."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

DEMO_INTENTS_FILE = Path(__file__).resolve().parents[2] / "bot" / "dialogue" / "intents_demo.yaml"


class DialogueSettings(BaseModel):
    intents_file: Path = Field(
        default=DEMO_INTENTS_FILE,
        description="The company's intents YAML (format: bot/dialogue/intents_demo.yaml). The "
        "classifier is retrained at start when the file or the embedder changed.",
    )
    oos_threshold: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Confidence below which a message matches no intent and is treated as a "
        "knowledge question. Default: chosen on held-out examples when the model is trained.",
    )
    slot_ttl_minutes: int = Field(
        default=30, gt=0, description="An unanswered question for a slot expires after this."
    )
    slot_max_attempts: int = Field(
        default=3, ge=1, description="Times the bot asks for one slot before offering a human."
    )
    topic_switch_confidence: float = Field(
        default=0.9,
        ge=0.0,
        le=1.0,
        description="A message that fills the awaited slot but looks like another intent "
        "changes the topic only at this confidence.",
    )
    llm_refine: bool = Field(
        default=False,
        description="Ask the configured LLM to classify messages the classifier is unsure of.",
    )
    llm_refine_below: float = Field(
        default=0.6, ge=0.0, le=1.0, description="Classifier confidence that counts as unsure."
    )
    llm_entities: bool = Field(
        default=False,
        description="Ask the configured LLM for structured entities (validated by the rules).",
    )
    frustration_threshold: float = Field(
        default=-0.5,
        ge=-1.0,
        le=1.0,
        description="Sentiment score at or below which a message counts as frustrated.",
    )
    recommendations: int = Field(default=3, ge=1, le=10, description="Products per recommendation.")
