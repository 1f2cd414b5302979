"""API keys and their daily usage counters."""

import sqlalchemy as sa
from alembic import op

from orderhub.store.migrations.columns import create_id_table
from orderhub.store.types import Str, UTCDateTime

revision = "0003"
down_revision = "0001"


def upgrade() -> None:
    create_id_table(
        "api_keys",
        sa.Column("name", Str(64), nullable=False),
        sa.Column("prefix", Str(32), nullable=False),
        sa.Column("hash", Str(64), nullable=False),
        sa.Column("scopes", Str(255), nullable=False),
        sa.Column("daily_limit", sa.BigInteger()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime()),
        sa.UniqueConstraint("name", name="uq_api_keys_name"),
        sa.UniqueConstraint("prefix", name="uq_api_keys_prefix"),
    )
    op.create_table(
        "key_usage",
        sa.Column("key_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["key_id"], ["api_keys.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("key_id", "day", name="pk_key_usage"),
    )


def downgrade() -> None:
    op.drop_table("key_usage")
    op.drop_table("api_keys")
