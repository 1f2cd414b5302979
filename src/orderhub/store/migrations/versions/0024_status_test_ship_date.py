"""A status's visible orders in a ship-date window: `(status, ship_date)` becomes
`(status, test, ship_date)`. Every list filters `test` (visible orders by default), so a
window (`status=open&ship_date=bt:...`, the overdue preset) read each indexed order's row
only to check `test`; with `test` in the index, the ids of a page come from the index alone
(docs/performance.md, "Read API"). The new index serves every query the old one did that
also names `test`, as the lists all do."""

from alembic import op

revision = "0024"
down_revision = "0023"


def upgrade() -> None:
    op.create_index("ix_orders_status_test_ship_date", "orders", ["status", "test", "ship_date"])
    op.drop_index("ix_orders_status_ship_date", table_name="orders")


def downgrade() -> None:
    op.create_index("ix_orders_status_ship_date", "orders", ["status", "ship_date"])
    op.drop_index("ix_orders_status_test_ship_date", table_name="orders")
