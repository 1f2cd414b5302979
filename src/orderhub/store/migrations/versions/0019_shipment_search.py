"""Free-text search finds an order by any of its shipments' tracking numbers (store/search.py,
docs/search.md): on PostgreSQL a pg_trgm GIN index on `shipments.tracking_number`; SQLite reads
the shipments table as it is (nothing to build)."""

from alembic import op

revision = "0019"
down_revision = "0018"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # pg_trgm was created by 0017.
        op.execute(
            "CREATE INDEX ix_shipments_tracking_search ON shipments"
            " USING gin (tracking_number gin_trgm_ops)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_shipments_tracking_search")
