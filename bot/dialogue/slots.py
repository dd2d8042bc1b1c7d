"""Multi-turn slot filling: ask for what an action still needs, one question at a time.

"我的订单到哪了" -> the bot asks for the order number -> "DD20241101" -> the order status is
answered. The open question (a *slot frame*) lives in the session state under
:data:`FRAME_KEY` as plain JSON, so it survives a restart. A frame expires after a quiet
period, and a confident, different intent at any moment drops it: the customer may change
topic whenever they like.

:func:`advance` is pure: it reads the state and returns the new state in its decision; the
caller stores it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from bot.dialogue.entities import Entities
from bot.dialogue.intent_catalog import IntentPrediction
from bot.texts import say
from core.text import Language

FRAME_KEY = "slot_frame"
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_SWITCH_CONFIDENCE = 0.9


class SlotOutcome(StrEnum):
    NONE = "none"
    """No slot business: handle the message as usual."""
    ASK = "ask"
    """Ask the customer for ``decision.slot``."""
    COMPLETE = "complete"
    """Every slot is filled: run the intent's action with ``decision.values``."""
    GIVE_UP = "give_up"
    """Asked too often without an answer; the frame is dropped (offer a human)."""


@dataclass(slots=True, frozen=True)
class SlotFrame:
    """An intent waiting for slots, as kept in the session state."""

    intent: str
    required: tuple[str, ...]
    filled: Mapping[str, str]
    created_at: datetime
    updated_at: datetime
    attempts: int = 0
    """How many times the bot has asked for the current missing slot."""

    def missing(self) -> list[str]:
        return [slot for slot in self.required if slot not in self.filled]

    def to_json(self) -> dict[str, Any]:
        return {
            "intent": self.intent,
            "required": list(self.required),
            "filled": dict(self.filled),
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "attempts": self.attempts,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> SlotFrame | None:
        """The frame stored in ``state``, or None (also for a malformed one)."""
        raw = state.get(FRAME_KEY)
        if not isinstance(raw, dict):
            return None
        try:
            return cls(
                intent=str(raw["intent"]),
                required=tuple(str(slot) for slot in raw["required"]),
                filled={str(k): str(v) for k, v in dict(raw["filled"]).items()},
                created_at=datetime.fromisoformat(raw["created_at"]),
                updated_at=datetime.fromisoformat(raw["updated_at"]),
                attempts=int(raw.get("attempts", 0)),
            )
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(slots=True, frozen=True)
class SlotDecision:
    """What to do with this message as far as slots go, and the session state to store."""

    outcome: SlotOutcome
    state: dict[str, Any]
    intent: str | None = None
    slot: str | None = None
    values: Mapping[str, str] = field(default_factory=dict)
    expired: bool = False
    """A frame was waiting but had been quiet longer than the TTL; it was dropped."""
    topic_changed: bool = False
    """A frame was waiting and the customer moved on to another intent; it was dropped."""

    def prompt(self, language: Language) -> str | None:
        """The question to ask when ``outcome`` is ASK (the text ``dialogue.ask.<slot>``)."""
        if self.outcome is not SlotOutcome.ASK or self.slot is None:
            return None
        return say(f"dialogue.ask.{self.slot}", language)

    def to_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "intent": self.intent,
            "slot": self.slot,
            "values": dict(self.values),
            "expired": self.expired,
            "topic_changed": self.topic_changed,
        }


def advance(
    state: Mapping[str, Any],
    prediction: IntentPrediction,
    entities: Entities,
    now: datetime,
    ttl: timedelta,
    *,
    required_slots: Mapping[str, Sequence[str]],
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    switch_confidence: float = DEFAULT_SWITCH_CONFIDENCE,
) -> SlotDecision:
    """Moves the slot frame on by one customer message.

    Args:
        state: the session state (not modified).
        prediction: the intent of this message (``name`` None when out of scope).
        entities: what this message contains.
        now: the current time, timezone-aware.
        ttl: a frame quiet for longer than this is dropped.
        required_slots: intent name -> slots it needs (``IntentCatalog.required_slots()``).
        max_attempts: how many times to ask for one slot before giving up.
        switch_confidence: a message that fills a missing slot counts as a new topic only
            when its different intent is at least this confident ("我要退款 DD20241101"
            during an order-status question). A bare answer ("DD20241101", ``entities.bare``)
            never changes the topic, whatever the classifier thinks of it.

    Returns:
        The decision, whose ``state`` is the new session state.
    """
    base = {key: value for key, value in state.items() if key != FRAME_KEY}
    frame = SlotFrame.from_state(state)
    expired = topic_changed = False
    if frame is not None and now - frame.updated_at > ttl:
        frame, expired = None, True
    if frame is not None:
        fills = _fills(frame.missing(), entities)
        intent = prediction.name
        answered = bool(fills) and entities.bare
        confident = not fills or prediction.confidence >= switch_confidence
        if intent and intent != frame.intent and not answered and confident:
            frame, topic_changed = None, True
    if frame is not None:
        return _continue(frame, fills, base, now, max_attempts)
    return _start(prediction, entities, base, now, required_slots, expired, topic_changed)


def _fills(missing: Sequence[str], entities: Entities) -> dict[str, str]:
    values = {slot: entities.slot_value(slot) for slot in missing}
    return {slot: value for slot, value in values.items() if value is not None}


def _continue(
    frame: SlotFrame,
    fills: Mapping[str, str],
    base: dict[str, Any],
    now: datetime,
    max_attempts: int,
) -> SlotDecision:
    frame = replace(frame, filled={**frame.filled, **fills}, updated_at=now)
    missing = frame.missing()
    if not missing:
        return SlotDecision(SlotOutcome.COMPLETE, base, frame.intent, values=dict(frame.filled))
    attempts = 1 if fills else frame.attempts + 1
    if attempts > max_attempts:
        return SlotDecision(SlotOutcome.GIVE_UP, base, frame.intent, slot=missing[0])
    frame = replace(frame, attempts=attempts)
    state = {**base, FRAME_KEY: frame.to_json()}
    return SlotDecision(SlotOutcome.ASK, state, frame.intent, missing[0], dict(frame.filled))


def _start(
    prediction: IntentPrediction,
    entities: Entities,
    base: dict[str, Any],
    now: datetime,
    required_slots: Mapping[str, Sequence[str]],
    expired: bool,
    topic_changed: bool,
) -> SlotDecision:
    intent = prediction.name
    required = tuple(required_slots.get(intent, ())) if intent else ()
    filled = _fills(required, entities)
    missing = [slot for slot in required if slot not in filled]
    state = base
    if intent is None or not required:
        outcome = SlotOutcome.NONE
    elif not missing:
        outcome = SlotOutcome.COMPLETE
    else:
        outcome = SlotOutcome.ASK
        frame = SlotFrame(intent, required, filled, now, now, attempts=1)
        state = {**base, FRAME_KEY: frame.to_json()}
    return SlotDecision(
        outcome,
        state,
        intent,
        slot=missing[0] if outcome is SlotOutcome.ASK else None,
        values=filled if outcome is not SlotOutcome.NONE else {},
        expired=expired,
        topic_changed=topic_changed,
    )
