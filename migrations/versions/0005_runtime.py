"""Runtime room: durable inbox and outbox, shared rate windows and shared values.

Revision ID: 0005_runtime
Revises: 0001_initial
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005_runtime"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types in core/storage/models.py as of this revision.
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    # The inbox replaces the dedupe-only table: it also knows whether a message was answered.
    op.drop_index(op.f("ix_processed_messages_created_at"), table_name="processed_messages")
    op.drop_table("processed_messages")
    op.create_table(
        "inbox",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("platform", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("conversation_key", sa.String(length=1024), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("message", JSON_DOCUMENT, nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.Column("answered_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox")),
        sa.UniqueConstraint("platform", "message_id", name=op.f("uq_inbox_platform_message_id")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_inbox_conversation_key_state_id"), "inbox", ["conversation_key", "state", "id"]
    )
    op.create_index(op.f("ix_inbox_state_received_at"), "inbox", ["state", "received_at"])
    op.create_table(
        "outbox",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("conversation_key", sa.String(length=1024), nullable=False),
        sa.Column("platform", sa.String(length=64), nullable=False),
        sa.Column("inbox_id", ROW_ID, nullable=True),
        sa.Column("reply_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("message", JSON_DOCUMENT, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("sent_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_outbox_conversation_key_state_id"), "outbox", ["conversation_key", "state", "id"]
    )
    op.create_index(op.f("ix_outbox_state_next_attempt_at"), "outbox", ["state", "next_attempt_at"])
    op.create_index(op.f("ix_outbox_inbox_id"), "outbox", ["inbox_id"])
    op.create_table(
        "rate_windows",
        sa.Column("name", sa.String(length=400), nullable=False),
        sa.Column("window", sa.BigInteger(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", "window", name=op.f("pk_rate_windows")),
    )
    op.create_table(
        "shared_values",
        sa.Column("namespace", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", JSON_DOCUMENT, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("namespace", "key", name=op.f("pk_shared_values")),
    )
    op.create_index(op.f("ix_shared_values_expires_at"), "shared_values", ["expires_at"])


def downgrade() -> None:
    op.drop_table("shared_values")
    op.drop_table("rate_windows")
    op.drop_table("outbox")
    op.drop_table("inbox")
    op.create_table(
        "processed_messages",
        sa.Column("platform", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("platform", "message_id", name=op.f("pk_processed_messages")),
    )
    op.create_index(
        op.f("ix_processed_messages_created_at"), "processed_messages", ["created_at"]
    )
