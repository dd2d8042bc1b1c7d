"""Understanding the customer: intents, slots, sentiment, recommendations."""

from __future__ import annotations

from pydantic import BaseModel


class DialogueSettings(BaseModel):
    slot_ttl_minutes: int = 30
