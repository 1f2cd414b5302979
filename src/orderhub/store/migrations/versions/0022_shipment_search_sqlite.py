"""Free-text search finds an order by its shipments' tracking numbers through an index on SQLite
too (store/search.py, docs/search.md): an FTS5 trigram table `shipments_search` (rowid = the
shipment's id, the order's id beside the number) kept by triggers on `shipments`, filled here
with the shipments already stored. Until now SQLite read every shipment for every search word.
PostgreSQL has had its trigram index since 0019: nothing to do there."""

from alembic import op

revision = "0022"
down_revision = "0021"

_ROW = (
    "(rowid, tracking, order_id) VALUES (NEW.id, coalesce(NEW.tracking_number, ''), NEW.order_id)"
)
_UP = (
    "CREATE VIRTUAL TABLE shipments_search USING fts5(tracking, order_id UNINDEXED,"
    " tokenize='trigram')",
    "INSERT INTO shipments_search(rowid, tracking, order_id)"
    " SELECT id, coalesce(tracking_number, ''), order_id FROM shipments",
    f"CREATE TRIGGER shipments_search_insert AFTER INSERT ON shipments BEGIN"
    f" INSERT INTO shipments_search{_ROW}; END",
    "CREATE TRIGGER shipments_search_update AFTER UPDATE ON shipments"
    " WHEN NEW.tracking_number IS NOT OLD.tracking_number OR NEW.order_id IS NOT OLD.order_id"
    " BEGIN DELETE FROM shipments_search WHERE rowid = OLD.id;"
    f" INSERT INTO shipments_search{_ROW}; END",
    "CREATE TRIGGER shipments_search_delete AFTER DELETE ON shipments BEGIN"
    " DELETE FROM shipments_search WHERE rowid = OLD.id; END",
)
_DOWN = (
    "DROP TRIGGER shipments_search_delete",
    "DROP TRIGGER shipments_search_update",
    "DROP TRIGGER shipments_search_insert",
    "DROP TABLE shipments_search",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in _UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in _DOWN:
            op.execute(statement)
