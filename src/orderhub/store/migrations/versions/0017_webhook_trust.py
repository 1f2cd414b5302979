"""Webhook subscriptions: since when every delivery has failed (disabled after 5 days)."""

import sqlalchemy as sa
from alembic import op

from orderhub.store.types import UTCDateTime

revision = "0017"
down_revision = "0013"


def upgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.add_column(sa.Column("failing_since", UTCDateTime()))


def downgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.drop_column("failing_since")
