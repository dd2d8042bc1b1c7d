"""Human handoff: triggers, business hours, agent workspace."""

from __future__ import annotations

from pydantic import BaseModel


class HandoffSettings(BaseModel):
    enabled: bool = True
