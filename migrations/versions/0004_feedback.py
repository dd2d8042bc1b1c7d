"""Feedback room: candidate gold answers and the event-log scan cursor.

Revision ID: 0004_feedback
Revises: 0001_initial
Create Date: 2025-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_feedback"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types in bot/feedback/models.py as of this revision.
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
EVENT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "gold_candidates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("conversation_key", sa.String(length=1024), nullable=False),
        sa.Column("question_event_id", EVENT_ID, nullable=False),
        sa.Column("answer_event_id", EVENT_ID, nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("context", JSON_DOCUMENT, nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("reviewer", sa.String(length=255), nullable=True),
        sa.Column("faq_id", sa.String(length=255), nullable=True),
        sa.Column("asked_at", TIMESTAMP, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("reviewed_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_gold_candidates_conversation_id_conversations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gold_candidates")),
        sa.UniqueConstraint("question_event_id", name=op.f("uq_gold_candidates_question_event_id")),
    )
    op.create_index(op.f("ix_gold_candidates_status"), "gold_candidates", ["status"])
    op.create_table(
        "feedback_scan_cursors",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("last_event_id", EVENT_ID, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_feedback_scan_cursors")),
    )


def downgrade() -> None:
    op.drop_table("feedback_scan_cursors")
    op.drop_index(op.f("ix_gold_candidates_status"), table_name="gold_candidates")
    op.drop_table("gold_candidates")
