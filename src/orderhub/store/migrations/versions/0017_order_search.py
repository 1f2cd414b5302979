"""Free-text search over orders (store/search.py, docs/search.md): on SQLite an FTS5 trigram
table kept by triggers (filled here with the existing orders), on PostgreSQL a pg_trgm GIN
index on an immutable function of the searched columns."""

from alembic import op

revision = "0017"
down_revision = "0016"

# A write never fails for its search text: lines that are not JSON (never written by the hub)
# give no SKUs rather than an error.
_SKUS = (
    "(SELECT group_concat(json_extract(value, '$.sku'), ' ') FROM"
    " json_each(CASE WHEN json_valid({p}lines) THEN {p}lines ELSE '[]' END))"
)
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

#: A line's "sku": its JSON string's text; `\"` and `\\` read as the characters they stand for.
_SKU = r'''"sku"\s*:\s*"((?:[^"\\]|\\.)*)"'''
_UNESCAPED = r"regexp_replace(m[1], '\\(.)', '\1', 'g')"
_POSTGRES_UP = (
    # A trusted extension (PostgreSQL 13+): the database's owner may create it.
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    # The SKUs are read from the JSON text by a pattern, not as jsonb: jsonb refuses a \u0000
    # escape (which a line's name may hold), and a write must never fail for its search text.
    "CREATE FUNCTION orders_search_doc(id bigint, external_id text, customer text, email text,"
    " vendor_ref text, tracking_number text, lines text) RETURNS text"
    " LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT concat_ws(' ', id::text, external_id,"
    f" customer, email, vendor_ref, tracking_number, array_to_string(ARRAY(SELECT {_UNESCAPED} FROM"
    f" regexp_matches(lines, '{_SKU}', 'g') AS m), ' ')) $$",
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
