"""Webhook subscriptions (their deliveries are outbox rows, topic "webhook").

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from orderhub.store.types import Id64, Str, UTCDateTime

revision = "0005"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", Id64, autoincrement=True, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("event_types", Str(255), nullable=False),
        sa.Column("filter", sa.Text(), nullable=True),
        sa.Column("secret", Str(128), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_subscriptions"),
    )


def downgrade() -> None:
    op.drop_table("webhook_subscriptions")
