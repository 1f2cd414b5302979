"""Free-text search over orders (`q=`, docs/search.md): the condition "every term appears".

An order's searchable text is its id, `external_id`, `customer`, `email`, `vendor_ref`,
`tracking_number` and its lines' SKUs, separated by spaces. Migration 0017 builds the index
that keeps it, and the database keeps the index exact on every write, whoever writes:

- SQLite: an FTS5 table `orders_search` (trigram tokenizer, rowid = the order's id) written by
  triggers on `orders` (insert, update of a searched column, delete).
- PostgreSQL: a GIN `pg_trgm` index on `orders_search_doc(...)`, an immutable SQL function of
  the same columns, so there is nothing to keep in step.

A term matches as a substring, ASCII letters in either case, the same on both databases,
through the trigram index (which needs 3 characters: shorter terms are scanned).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, and_, column, func, select, table
from sqlalchemy.sql.elements import ColumnElement

from orderhub.query import OrderQuery, compile_query
from orderhub.query.compiler import Compiled, Search
from orderhub.store.tables import orders
from orderhub.store.tags import FILTER_COLUMNS

#: What migration 0017 made: left out of the models' comparison with the database.
SEARCH_TABLE = "orders_search"
SEARCH_INDEX = "ix_orders_search"
SEARCH_FUNCTION = "orders_search_doc"
#: The columns searched, in the order `orders_search_doc` takes them.
SEARCHED = ("id", "external_id", "customer", "email", "vendor_ref", "tracking_number", "lines")

_FTS = table(SEARCH_TABLE, column("rowid"), column("doc"))


def _sqlite(terms: Sequence[str]) -> ColumnElement[bool]:
    doc = _FTS.c.doc
    # The trigram index finds the rows holding each term of 3 characters or more as a quoted
    # phrase (folding case beyond ASCII); instr() keeps exactly the ASCII-folded substrings.
    # Not LIKE on the FTS5 table: SQLite 3.40's trigram LIKE crashes on some patterns.
    exact = [func.instr(func.lower(doc), func.lower(term)) > 0 for term in terms]
    phrases = " ".join('"' + term.replace('"', '""') + '"' for term in terms if len(term) >= 3)
    if phrases:
        exact.insert(0, doc.match(phrases))
    return orders.c.id.in_(select(_FTS.c.rowid).where(*exact))


def _postgresql(terms: Sequence[str]) -> ColumnElement[bool]:
    doc = getattr(func, SEARCH_FUNCTION)(*(orders.c[name] for name in SEARCHED))
    return and_(*(doc.ilike(f"%{_escaped(term)}%") for term in terms))


def _escaped(term: str) -> str:
    """The term as a LIKE pattern matching itself (PostgreSQL's escape is the backslash)."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_for(conn: Connection) -> Search:
    """The search condition of this connection's database."""
    return _postgresql if conn.dialect.name == "postgresql" else _sqlite


def compile_orders(query: OrderQuery, conn: Connection) -> Compiled:
    """The query compiled over the orders table, `q=` included."""
    return compile_query(query, FILTER_COLUMNS, search_for(conn))


def not_search_object(name: str | None, type_: str, parent_names: object = None) -> bool:
    """False for what migration 0017 made outside the models (the FTS5 table and its shadow
    tables, the expression index): Alembic's `include_name` for comparing the two."""
    if name is None:
        return True
    if type_ == "table":
        return not name.startswith(SEARCH_TABLE)
    return not (type_ == "index" and name == SEARCH_INDEX)
