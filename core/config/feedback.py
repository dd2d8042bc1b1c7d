"""Feedback, review, datasets and analytics (``KEFU_FEEDBACK__...``)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, field_validator


class FeedbackSettings(BaseModel):
    """Ratings, candidate gold answers and their review, dataset export and the report."""

    enabled: bool = Field(
        default=True, description="Offer 👍/👎 under knowledge answers and accept /feedback."
    )
    admin_token: SecretStr | None = Field(
        default=None,
        description="Token for the admin pages /admin/review and /admin/dashboard (sent as "
        "`Authorization: Bearer <token>` or `?token=`). Unset: the pages answer 403.",
    )
    reason_timeout_s: float = Field(
        default=600.0,
        ge=0.0,
        description="After a 👎, the customer's next message within this many seconds is taken "
        "as the reason (unless it is a question or a command).",
    )
    system_prompts: dict[str, str] = Field(
        default_factory=lambda: {
            "zh": "你是{company}的智能客服，请根据公司知识准确、简洁、礼貌地回答客户的问题。",
            "en": "You are the {company} support assistant. Answer the customer's "
            "question accurately, briefly and politely from the company's knowledge.",
        },
        description="System message written into exported chat datasets, per language "
        "(zh, en); `{company}` is the company's name (`KEFU_COMPANY__NAME__...`); an empty "
        "text leaves the system message out.",
    )
    context_turns: int = Field(
        default=4,
        ge=0,
        description="Dataset export: earlier messages of the same conversation kept as context.",
    )
    context_gap_minutes: float = Field(
        default=30.0,
        gt=0.0,
        description="Dataset export: earlier messages older than this (before the question) "
        "belong to another visit and are not used as context.",
    )
    near_duplicate_threshold: float = Field(
        default=0.5,
        gt=0.0,
        le=1.0,
        description="Dataset split: questions whose character n-gram Jaccard similarity reaches "
        "this are near-duplicates and always land in the same split.",
    )
    gap_cluster_distance: float = Field(
        default=0.7,
        gt=0.0,
        le=2.0,
        description="Report: cosine distance under which unanswered questions are grouped.",
    )
    timezone: str = Field(
        default="UTC",
        description="The IANA time zone of the report's days and of the times on the staff "
        "pages (agent workspace, review, dashboard), e.g. `Asia/Shanghai`.",
    )
    report_top: int = Field(
        default=10, ge=1, description="Report: how many intents and unanswered groups to show."
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name") from error
        return value
