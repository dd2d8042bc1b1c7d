"""Learned FAQ phrasings: alternatives added after an entry was written (review, /kb alias).

Revision ID: 0006_kb_phrasings
Revises: 0005_knowledge_state
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_kb_phrasings"
down_revision: str | Sequence[str] | None = "0005_knowledge_state"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "kb_phrasings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("faq_id", sa.String(length=255), nullable=False),
        sa.Column("phrasing", sa.Text(), nullable=False),
        sa.Column("phrasing_key", sa.String(length=64), nullable=False),
        sa.Column("origin", sa.String(length=32), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_phrasings")),
        sa.UniqueConstraint(
            "faq_id", "phrasing_key", name=op.f("uq_kb_phrasings_faq_id_phrasing_key")
        ),
    )
    op.create_index(op.f("ix_kb_phrasings_faq_id"), "kb_phrasings", ["faq_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_kb_phrasings_faq_id"), table_name="kb_phrasings")
    op.drop_table("kb_phrasings")
