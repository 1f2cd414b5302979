"""Events, per-field change history and the transactional outbox."""

import sqlalchemy as sa
from alembic import op

from orderhub.store.migrations.columns import create_id_table, create_index
from orderhub.store.types import Str, UTCDateTime

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    create_id_table(
        "events",
        sa.Column("event_id", Str(40), nullable=False),
        sa.Column("type", Str(40), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("source", Str(16), nullable=False),
        sa.Column("actor", Str(64)),
        sa.Column("data", sa.Text(), nullable=False),
        sa.UniqueConstraint("event_id", name="uq_events_event_id"),
    )
    create_index("events", "order_id")
    create_id_table(
        "order_changes",
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", Str(40), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("source", Str(16), nullable=False),
        sa.Column("actor", Str(64)),
        sa.Column("field", Str(64), nullable=False),
        sa.Column("old", sa.Text()),
        sa.Column("new", sa.Text()),
    )
    create_index("order_changes", "order_id", "id")
    create_id_table(
        "outbox",
        sa.Column("topic", Str(32), nullable=False),
        sa.Column("dedupe_key", Str(200)),
        sa.Column("order_id", sa.BigInteger()),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", Str(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("lease_owner", Str(64)),
        sa.Column("lease_until", UTCDateTime()),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("delivered_at", UTCDateTime()),
        sa.UniqueConstraint("dedupe_key", name="uq_outbox_dedupe_key"),
    )
    create_index("outbox", "status", "next_attempt_at")
    create_index("outbox", "topic", "status")
    create_index("outbox", "order_id")


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("order_changes")
    op.drop_table("events")
