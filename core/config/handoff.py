"""Human handoff (``KEFU_HANDOFF__...``): triggers, business hours, the agent workspace.

Every trigger can be switched off on its own; the queue keeps working either way (an admin
can still hand a conversation over with ``/handoff <conversation key>``).
"""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, field_validator

DEFAULT_REQUEST_PHRASES = [
    "转人工",
    "人工客服",
    "人工服务",
    "找人工",
    "要人工",
    "转接人工",
    "转个人工",
    "转下人工",
    "转一下人工",
    "真人客服",
    "联系客服",
    "talk to a human",
    "speak to a human",
    "speak with a human",
    "talk to an agent",
    "speak to an agent",
    "speak with an agent",
    "talk to a person",
    "talk to someone",
    "real person",
    "human agent",
    "live agent",
    "live person",
    "customer service representative",
]

DEFAULT_REQUEST_WORDS = ["人工", "客服", "真人", "human", "agent", "operator", "representative"]

DEFAULT_CANCEL_WORDS = [
    "算了",
    "取消",
    "不用了",
    "取消转人工",
    "返回机器人",
    "cancel",
    "never mind",
    "nevermind",
    "back to bot",
    "back to the bot",
    "no thanks",
]


class BusinessHours(BaseModel):
    """When agents normally answer; outside these hours the customer is told a message was left."""

    always_open: bool = Field(
        default=False, description="Ignore the hours below: agents may answer at any time."
    )
    timezone: str = Field(default="Asia/Shanghai", description="IANA zone of the hours below.")
    days: list[int] = Field(
        default_factory=lambda: [1, 2, 3, 4, 5, 6, 7],
        description="Open days, ISO weekday numbers (1 = Monday ... 7 = Sunday).",
    )
    opens: time = Field(default=time(9, 0), description="Local opening time, e.g. `09:00`.")
    closes: time = Field(
        default=time(21, 0),
        description="Local closing time, e.g. `21:00`; earlier than `opens` spans midnight.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"unknown time zone {value!r}") from e
        return value

    @field_validator("days")
    @classmethod
    def _iso_days(cls, value: list[int]) -> list[int]:
        if any(day < 1 or day > 7 for day in value):
            raise ValueError("days are ISO weekday numbers, 1 (Monday) to 7 (Sunday)")
        return value


class HandoffTriggers(BaseModel):
    """What hands a conversation to a human. Each one can be switched off."""

    customer_request: bool = Field(
        default=True, description="The customer asks for a human (phrases and words below)."
    )
    request_phrases: list[str] = Field(
        default_factory=lambda: list(DEFAULT_REQUEST_PHRASES),
        description="Found anywhere in a message (case-insensitive; whole words in English).",
    )
    request_words: list[str] = Field(
        default_factory=lambda: list(DEFAULT_REQUEST_WORDS),
        description='Hand off only when they are the whole message ("人工", "agent"): '
        'inside a sentence they are too ambiguous ("人工智能", "user agent").',
    )
    failed_answers: int = Field(
        default=2,
        ge=0,
        description='After this many failed bot answers in a row ("I don\'t know", errors), '
        "the customer's next question goes to a human instead of another failed try. 0: off.",
    )
    failure_kinds: list[str] = Field(
        default_factory=lambda: ["dont_know", "error"],
        description="Answer kinds that count as a failed answer.",
    )
    not_a_question_intents: list[str] = Field(
        default_factory=lambda: ["greeting", "thanks", "goodbye", "small_talk", "chitchat"],
        description='Intents that never trigger the failed-answers rule ("thanks, bye").',
    )
    complaint: bool = Field(default=True, description="A complaint intent hands off at once.")
    complaint_intents: list[str] = Field(
        default_factory=lambda: ["complaint"], description="Intents that count as a complaint."
    )
    frustration: bool = Field(
        default=True, description="Strong frustration (from sentiment analysis) hands off."
    )
    admin_command: bool = Field(
        default=True, description="Admins may hand off any conversation: `/handoff <key>`."
    )


class HandoffSettings(BaseModel):
    enabled: bool = Field(default=True, description="Off: the bot never hands off.")
    triggers: HandoffTriggers = Field(default_factory=HandoffTriggers)
    cancel_words: list[str] = Field(
        default_factory=lambda: list(DEFAULT_CANCEL_WORDS),
        description="A whole message equal to one of these takes a waiting or assigned "
        "conversation back to the bot.",
    )
    hours: BusinessHours = Field(default_factory=BusinessHours)
    average_handling_minutes: float = Field(
        default=6.0, gt=0, description="Average minutes per conversation, for the wait estimate."
    )
    queue_notice_minutes: float = Field(
        default=3.0,
        ge=0,
        description="While waiting, the customer's messages get a queue position update at "
        "most this often; in between they are passed on silently.",
    )
    claim_timeout_minutes: float = Field(
        default=10.0,
        ge=0,
        description="A claimed conversation whose agent has been gone (no open workspace) this "
        "long goes back to the queue. 0: never.",
    )
    presence_seconds: int = Field(
        default=90, ge=10, description="An agent unseen this long no longer counts as online."
    )
    rating_window_hours: float = Field(
        default=24.0,
        gt=0,
        description="How long after closing a reply of 1-5 still counts as the rating.",
    )
    summary_turns: int = Field(
        default=8, ge=1, description="Customer and bot turns shown in the handoff summary."
    )
    summary_timeout_s: float = Field(
        default=20.0, gt=0, description="Longest wait for the LLM summary before the plain one."
    )
    session_secret: SecretStr | None = Field(
        default=None,
        description="Key that signs agent session cookies. Unset: generated once and kept in "
        "`agent_session.key` in the data directory. Set it when several machines serve agents.",
    )
    session_hours: float = Field(default=12.0, gt=0, description="Agent login lifetime.")
    secure_cookies: bool = Field(
        default=False,
        description="Mark agent cookies Secure (HTTPS only). Turn on behind HTTPS in production.",
    )
    login_attempts: int = Field(
        default=5, ge=1, description="Failed logins allowed per name and per address per window."
    )
    login_window_minutes: float = Field(
        default=15.0, gt=0, description="Window of the failed-login limit."
    )
