"""The outbox lease reads each topic's due rows in due order: `(status, next_attempt_at)` and
`(topic, status)` become `(topic, status, next_attempt_at)`. With 300,000 e-mails waiting for
an SMTP server (pending, long due, a topic the worker does not take) a webhook worker's lease
walked past all of them on every poll: 364 ms on PostgreSQL, 0.3 ms with this index
(docs/scaling.md, "The outbox lease"). `(topic, status)` is its prefix, so it goes."""

from alembic import op

revision = "0023"
down_revision = "0022"


def upgrade() -> None:
    op.create_index(
        "ix_outbox_topic_status_next_attempt_at", "outbox", ["topic", "status", "next_attempt_at"]
    )
    op.drop_index("ix_outbox_status_next_attempt_at", table_name="outbox")
    op.drop_index("ix_outbox_topic_status", table_name="outbox")


def downgrade() -> None:
    op.create_index("ix_outbox_topic_status", "outbox", ["topic", "status"])
    op.create_index("ix_outbox_status_next_attempt_at", "outbox", ["status", "next_attempt_at"])
    op.drop_index("ix_outbox_topic_status_next_attempt_at", table_name="outbox")
