"""Free-text search over orders (`q=`, docs/search.md): the condition "every term appears".

An order's searchable text is its document (its id, `external_id`, `customer`, `email`,
`vendor_ref`, `tracking_number` and its lines' SKUs, separated by spaces) and the
`tracking_number` of each of its shipments. A term is found when the document holds it OR one of
the order's shipments' tracking numbers does; every term must be found (each in any source).
Migration 0017 builds the documents' index, and the database keeps it exact on every write:

- SQLite: an FTS5 table `orders_search` (trigram tokenizer, rowid = the order's id) written by
  triggers on `orders` (insert, update of a searched column, delete); the shipments' tracking
  numbers are read from the `shipments` table itself (one scan of it per term).
- PostgreSQL: a GIN `pg_trgm` index on `orders_search_doc(...)`, an immutable SQL function of
  the same columns, so there is nothing to keep in step; migration 0019's GIN `pg_trgm` index
  on `shipments.tracking_number` answers the shipments' part.

A term matches as a substring, ASCII letters in either case, the same on both databases,
through the trigram index (which needs 3 characters: shorter terms are scanned).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import (
    Connection,
    Select,
    and_,
    any_,
    column,
    func,
    or_,
    select,
    table,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement

from orderhub.query import OrderQuery, compile_query
from orderhub.query.compiler import Compiled, Search
from orderhub.store.fulfilment import shipments
from orderhub.store.tables import orders
from orderhub.store.tags import FILTER_COLUMNS

#: What migration 0017 made: left out of the models' comparison with the database.
SEARCH_TABLE = "orders_search"
SEARCH_INDEX = "ix_orders_search"
SEARCH_FUNCTION = "orders_search_doc"
#: What migration 0019 made on PostgreSQL: the shipments' tracking numbers' trigram index.
TRACKING_INDEX = "ix_shipments_tracking_search"
#: The columns searched, in the order `orders_search_doc` takes them.
SEARCHED = ("id", "external_id", "customer", "email", "vendor_ref", "tracking_number", "lines")

_FTS = table(SEARCH_TABLE, column("rowid"), column("doc"))

#: Migration 0017's trigger writing a new order's document into SEARCH_TABLE (SQLite).
INSERT_TRIGGER = "orders_search_insert"
_DOC_PARTS = ("id", "external_id", "customer", "email", "vendor_ref", "tracking_number")
_DOC_SKUS = (
    "(SELECT group_concat(json_extract(value, '$.sku'), ' ') FROM"
    " json_each(CASE WHEN json_valid(lines) THEN lines ELSE '[]' END))"
)
#: A stored row's document on SQLite: the expression INSERT_TRIGGER evaluates over `NEW.`
#: (tests/test_ingest.py checks that both give the same text).
SQLITE_DOCUMENT = " || ' ' || ".join(
    [*(f"coalesce({name}, '')" for name in _DOC_PARTS), f"coalesce({_DOC_SKUS}, '')"]
)

#: SQLite's largest rowid: a table holding it gives new rows free ids at random.
_MAX_ROWID = 2**63 - 1


@contextmanager
def indexed_as_a_batch(conn: Connection, rows: int) -> Iterator[None]:
    """On SQLite, the new orders written inside are indexed by one INSERT ... SELECT at the
    end instead of INSERT_TRIGGER's row each (~200 us an order on a bulk write; ~20 here):
    the trigger is dropped meanwhile and created again as it was, in the caller's write
    transaction, so no other connection ever sees it missing and a rollback restores it.
    Updates of stored orders inside are still indexed by the update trigger. New rows are
    those above the largest id, so with the largest rowid taken (new ids then random) or on
    PostgreSQL (an expression index) it changes nothing, and so outside a transaction."""
    trigger = None
    # Only inside a transaction begun already (BEGIN IMMEDIATE, store/uow.py): the driver
    # would run the DDL below in autocommit mode, each statement its own transaction.
    if conn.dialect.name == "sqlite" and getattr(
        conn.connection.driver_connection, "in_transaction", False
    ):
        last_id = conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM orders").scalar_one()
        if last_id <= _MAX_ROWID - rows:
            trigger = conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
                (INSERT_TRIGGER,),
            ).scalar()
    if not isinstance(trigger, str):
        yield
        return
    conn.exec_driver_sql(f"DROP TRIGGER {INSERT_TRIGGER}")
    yield
    conn.exec_driver_sql(
        f"INSERT INTO {SEARCH_TABLE}(rowid, doc) SELECT id, {SQLITE_DOCUMENT}"
        " FROM orders WHERE id > ?",
        (last_id,),
    )
    conn.exec_driver_sql(trigger)


def _sqlite(terms: Sequence[str]) -> ColumnElement[bool]:
    found = (union_all(_sqlite_docs(term), _sqlite_tracking(term)) for term in terms)
    return and_(*(orders.c.id.in_(ids) for ids in found))


def _sqlite_docs(term: str) -> Select[tuple[int]]:
    doc = _FTS.c.doc
    # The trigram index finds the rows holding a term of 3 characters or more as a quoted
    # phrase (folding case beyond ASCII); instr() keeps exactly the ASCII-folded substrings.
    # Not LIKE on the FTS5 table: SQLite 3.40's trigram LIKE crashes on some patterns.
    exact = [func.instr(func.lower(doc), func.lower(term)) > 0]
    if len(term) >= 3:
        exact.insert(0, doc.match('"' + term.replace('"', '""') + '"'))
    return select(_FTS.c.rowid).where(*exact)


def _sqlite_tracking(term: str) -> Select[tuple[int]]:
    # A scan of the shipments table (a row per shipment, one short column read): no index.
    number = shipments.c.tracking_number
    return select(shipments.c.order_id).where(func.instr(func.lower(number), func.lower(term)) > 0)


def _postgresql(terms: Sequence[str]) -> ColumnElement[bool]:
    doc = getattr(func, SEARCH_FUNCTION)(*(orders.c[name] for name in SEARCHED))
    found = []
    for term in terms:
        pattern = f"%{_escaped(term)}%"
        shipped = select(shipments.c.order_id).where(shipments.c.tracking_number.ilike(pattern))
        # `id = ANY(ARRAY(...))`, not `id IN (...)`: the array is computed once, and an OR of
        # two indexable conditions lets PostgreSQL either combine both indexes (a rare term)
        # or read the orders in the list's order and stop at a page (a common one).
        by_id = orders.c.id == any_(func.array(shipped.scalar_subquery()))
        found.append(or_(doc.ilike(pattern), by_id))
    return and_(*found)


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
    """False for what migrations 0017 and 0019 made outside the models (the FTS5 table and its
    shadow tables, the trigram indexes): Alembic's `include_name` for comparing the two."""
    if name is None:
        return True
    if type_ == "table":
        return not name.startswith(SEARCH_TABLE)
    return not (type_ == "index" and name in (SEARCH_INDEX, TRACKING_INDEX))
