"""Events, per-field change history and the transactional outbox.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from orderhub.store.types import Id64, Str, UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", Id64, autoincrement=True, nullable=False),
        sa.Column("event_id", Str(40), nullable=False),
        sa.Column("type", Str(40), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("source", Str(16), nullable=False),
        sa.Column("actor", Str(64), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.UniqueConstraint("event_id", name="uq_events_event_id"),
    )
    op.create_index("ix_events_order_id", "events", ["order_id"])
    op.create_table(
        "order_changes",
        sa.Column("id", Id64, autoincrement=True, nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", Str(40), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("source", Str(16), nullable=False),
        sa.Column("actor", Str(64), nullable=True),
        sa.Column("field", Str(64), nullable=False),
        sa.Column("old", sa.Text(), nullable=True),
        sa.Column("new", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_order_changes"),
    )
    op.create_index("ix_order_changes_order_id_id", "order_changes", ["order_id", "id"])
    op.create_table(
        "outbox",
        sa.Column("id", Id64, autoincrement=True, nullable=False),
        sa.Column("topic", Str(32), nullable=False),
        sa.Column("dedupe_key", Str(200), nullable=True),
        sa.Column("order_id", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", Str(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("lease_owner", Str(64), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("dedupe_key", name="uq_outbox_dedupe_key"),
    )
    op.create_index("ix_outbox_status_next_attempt_at", "outbox", ["status", "next_attempt_at"])
    op.create_index("ix_outbox_topic_status", "outbox", ["topic", "status"])
    op.create_index("ix_outbox_order_id", "outbox", ["order_id"])


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("order_changes")
    op.drop_table("events")
