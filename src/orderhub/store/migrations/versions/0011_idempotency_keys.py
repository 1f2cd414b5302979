"""Idempotency keys: the answers of POST and PUT requests sent with an Idempotency-Key."""

import sqlalchemy as sa
from alembic import op

from orderhub.store.types import Str, UTCDateTime

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("api_key_id", sa.BigInteger(), nullable=False),
        sa.Column("key", Str(255), nullable=False),
        sa.Column("fingerprint", Str(64), nullable=False),
        sa.Column("owner", Str(32), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("headers", sa.Text(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_keys.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("api_key_id", "key", name="pk_idempotency_keys"),
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])


def downgrade() -> None:
    op.drop_table("idempotency_keys")
