"""Feedback, datasets and analytics."""

from __future__ import annotations

from pydantic import BaseModel


class FeedbackSettings(BaseModel):
    enabled: bool = True
