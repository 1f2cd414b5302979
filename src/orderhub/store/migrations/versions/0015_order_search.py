"""Free-text search over orders (store/search.py, docs/search.md): on SQLite an FTS5 trigram
table kept by triggers (filled here with the existing orders), on PostgreSQL a pg_trgm GIN
index on an immutable function of the searched columns."""

from alembic import op

revision = "0015"
down_revision = "0013"

_SKUS = "(SELECT group_concat(json_extract(value, '$.sku'), ' ') FROM json_each({p}lines))"
_PARTS = ("id", "external_id", "customer", "email", "vendor_ref", "tracking_number")


def _sqlite_doc(prefix: str) -> str:
    """The searchable text of a row (`NEW.` in a trigger, nothing in a SELECT from orders)."""
    parts = [f"coalesce({prefix}{name}, '')" for name in _PARTS]
    parts.append(f"coalesce({_SKUS.format(p=prefix)}, '')")
    return " || ' ' || ".join(parts)


_CHANGED = " OR ".join(f"NEW.{n} IS NOT OLD.{n}" for n in (*_PARTS, "lines"))

_SQLITE_UP = (
    "CREATE VIRTUAL TABLE orders_search USING fts5(doc, tokenize='trigram')",
    "INSERT INTO orders_search(rowid, doc) SELECT id, " + _sqlite_doc("") + " FROM orders",
    "CREATE TRIGGER orders_search_insert AFTER INSERT ON orders BEGIN"
    f" INSERT INTO orders_search(rowid, doc) VALUES (NEW.id, {_sqlite_doc('NEW.')}); END",
    f"CREATE TRIGGER orders_search_update AFTER UPDATE ON orders WHEN {_CHANGED} BEGIN"
    " DELETE FROM orders_search WHERE rowid = OLD.id;"
    f" INSERT INTO orders_search(rowid, doc) VALUES (NEW.id, {_sqlite_doc('NEW.')}); END",
    "CREATE TRIGGER orders_search_delete AFTER DELETE ON orders BEGIN"
    " DELETE FROM orders_search WHERE rowid = OLD.id; END",
)
_SQLITE_DOWN = (
    "DROP TRIGGER orders_search_delete",
    "DROP TRIGGER orders_search_update",
    "DROP TRIGGER orders_search_insert",
    "DROP TABLE orders_search",
)

_POSTGRES_UP = (
    # A trusted extension (PostgreSQL 13+): the database's owner may create it.
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE FUNCTION orders_search_doc(id bigint, external_id text, customer text, email text,"
    " vendor_ref text, tracking_number text, lines text) RETURNS text"
    " LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT concat_ws(' ', id::text, external_id,"
    " customer, email, vendor_ref, tracking_number, (SELECT string_agg(line->>'sku', ' ')"
    " FROM jsonb_array_elements(lines::jsonb) AS line)) $$",
    "CREATE INDEX ix_orders_search ON orders USING gin (orders_search_doc(id, external_id,"
    " customer, email, vendor_ref, tracking_number, lines) gin_trgm_ops)",
)
_POSTGRES_DOWN = (
    "DROP INDEX ix_orders_search",
    "DROP FUNCTION orders_search_doc(bigint, text, text, text, text, text, text)",
)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _POSTGRES_UP if postgres else _SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _POSTGRES_DOWN if postgres else _SQLITE_DOWN:
        op.execute(statement)
