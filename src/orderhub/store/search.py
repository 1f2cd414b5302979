"""Free-text search over orders (`q=`, docs/search.md): the condition "every term appears".

An order's searchable text is its document (its id, `external_id`, `customer`, `email`,
`vendor_ref`, `tracking_number` and its lines' SKUs, separated by spaces) and the
`tracking_number` of each of its shipments. A term is found when the document holds it OR one of
the order's shipments' tracking numbers does; every term must be found (each in any source).
Migration 0017 builds the documents' index, and the database keeps it exact on every write:

- SQLite: an FTS5 table `orders_search` (trigram tokenizer, rowid = the order's id) written by
  triggers on `orders` (insert, update of a searched column, delete), and `shipments_search`
  (migration 0022: a shipment's tracking number and its order's id) by triggers on
  `shipments`. The indexes list a term's candidate orders; each candidate the list reaches is
  then checked on its own text.
- PostgreSQL: a GIN `pg_trgm` index on `orders_search_doc(...)`, an immutable SQL function of
  the same columns, so there is nothing to keep in step; migration 0019's GIN `pg_trgm` index
  on `shipments.tracking_number` answers the shipments' part.

A term matches as a substring, ASCII letters in either case, the same on both databases,
through the trigram index (which needs 3 characters: shorter terms are scanned).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import orjson
from sqlalchemy import (
    CompoundSelect,
    Connection,
    and_,
    any_,
    column,
    exists,
    func,
    literal,
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
from orderhub.store.texts import TEXTS_TABLE

#: What migration 0017 made: left out of the models' comparison with the database.
SEARCH_TABLE = "orders_search"
SEARCH_INDEX = "ix_orders_search"
SEARCH_FUNCTION = "orders_search_doc"
#: What migration 0019 made on PostgreSQL: the shipments' tracking numbers' trigram index.
TRACKING_INDEX = "ix_shipments_tracking_search"
#: The columns searched, in the order `orders_search_doc` takes them.
SEARCHED = ("id", "external_id", "customer", "email", "vendor_ref", "tracking_number", "lines")

#: What migration 0022 made on SQLite: the shipments' tracking numbers' FTS5 trigram table.
TRACKING_TABLE = "shipments_search"

_FTS = table(SEARCH_TABLE, column("rowid"), column("doc"))
_SHIPPED = table(TRACKING_TABLE, column("rowid"), column("tracking"), column("order_id"))

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

_DOC_TEXTS = _DOC_PARTS[1:]


def row_document(row: Mapping[str, Any]) -> str | None:
    """SQLITE_DOCUMENT of an `order_row` row without its leading id (`indexed_as_a_batch`'s
    `documents`); None when SQLite might write it otherwise (a value not text, a line's SKU
    not text, a NUL character, lines orjson cannot read): the caller then lets SQLite build it."""
    values = [row[name] for name in _DOC_TEXTS]
    try:
        lines = orjson.loads(row["lines"]) if row["lines"] is not None else []
    except orjson.JSONDecodeError:  # valid JSON orjson refuses: a number past a double's range
        return None
    if not isinstance(lines, list) or not all(isinstance(line, dict) for line in lines):
        return None
    # group_concat leaves out a line without a SKU (json_extract gives NULL there)
    skus = [line["sku"] for line in lines if line.get("sku") is not None]
    texts = [*skus, *(value for value in values if value is not None)]
    if not all(isinstance(text, str) for text in texts):
        return None
    document = " " + " ".join([*(value or "" for value in values), " ".join(skus)])
    return None if "\x00" in document else document


#: SQLite's largest rowid: a table holding it gives new rows free ids at random.
_MAX_ROWID = 2**63 - 1


@contextmanager
def indexed_as_a_batch(
    conn: Connection, rows: int, documents: Sequence[str] | None = None
) -> Iterator[None]:
    """On SQLite, the new orders written inside are indexed by one INSERT ... SELECT at the
    end instead of INSERT_TRIGGER's row each (~200 us an order on a bulk write; ~20 here):
    the trigger is dropped meanwhile and created again as it was, in the caller's write
    transaction, so no other connection ever sees it missing and a rollback restores it.
    Updates of stored orders inside are still indexed by the update trigger. New rows are
    those above the largest id, so with the largest rowid taken (new ids then random) or on
    PostgreSQL (an expression index) it changes nothing, and so outside a transaction.

    `documents`: the new rows' documents as the writer made them, each without its id (what
    follows the id), in the order the rows are written: used when exactly that many rows are
    new (the search document then need not be built from the rows, ~17 us an order)."""
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
    if documents is not None and _all_new(conn, last_id, len(documents)):
        conn.exec_driver_sql(
            f"INSERT INTO {SEARCH_TABLE}(rowid, doc) VALUES (?, ?)",
            [(last_id + n, f"{last_id + n}{rest}") for n, rest in enumerate(documents, 1)],
        )
    else:
        conn.exec_driver_sql(
            f"INSERT INTO {SEARCH_TABLE}(rowid, doc) SELECT id, {SQLITE_DOCUMENT}"
            " FROM orders WHERE id > ?",
            (last_id,),
        )
    conn.exec_driver_sql(trigger)


def _all_new(conn: Connection, last_id: int, rows: int) -> bool:
    """Whether the rows written above `last_id` are `rows` new ones, ids last_id + 1 on (a
    new row's id is the largest + 1, SQLite's rule below _MAX_ROWID): none updated."""
    newest = conn.exec_driver_sql("SELECT max(id) FROM orders").scalar_one()
    return bool(newest == last_id + rows)


#: Candidates of a term from which a list sorted by another field than `id` walks that field's
#: index, probing the candidates, rather than reading every candidate and sorting them
#: (docs/search.md, "Speed").
COMMON = 1_000


def _sqlite(conn: Connection, by_id: bool) -> Search:
    def condition(terms: Sequence[str]) -> ColumnElement[bool]:
        return and_(*(_sqlite_term(conn, term, by_id) for term in terms))

    return condition


def _sqlite_term(conn: Connection, term: str, by_id: bool) -> ColumnElement[bool]:
    """The orders holding `term`: the two trigram indexes' candidates (when the term has the
    3 characters an index needs), each then checked on its own row."""
    exact = or_(_in_document(term), _in_tracking(term))
    if len(term) < 3:
        return exact  # no trigram: every row the other filters leave is read
    phrase = '"' + term.replace('"', '""') + '"'
    candidates = union_all(
        select(_FTS.c.rowid).where(_FTS.c.doc.match(phrase)),
        select(_SHIPPED.c.order_id).where(_SHIPPED.c.tracking.match(phrase)),
    )
    # The candidates are a superset (FTS5 folds case beyond ASCII too), cheap to list: only the
    # indexes' doclists are read. The exact check reads one row's text, only for the rows the
    # list reaches. The candidates, kept in id order, drive a list sorted by id (it stops after
    # a page) and a list of few candidates (each looked up, then sorted). Many candidates in
    # another sort are only probed (`id + 0` keeps SQLite from driving by them) while the list
    # walks its sort's index, which stops after a page of matches.
    walks = not by_id and _at_least(conn, candidates, COMMON)
    return and_((orders.c.id + 0 if walks else orders.c.id).in_(candidates), exact)


def _at_least(conn: Connection, candidates: CompoundSelect, n: int) -> bool:
    """Whether there are `n` candidates or more (counting stops at `n`: doclists only)."""
    first = select(literal(1)).select_from(candidates.subquery()).limit(n).subquery()
    return conn.execute(select(func.count()).select_from(first)).scalar_one() >= n


def _in_document(term: str) -> ColumnElement[bool]:
    doc = _FTS.c.doc
    # instr() on lowered text: ASCII letters fold, others match as written (as on PostgreSQL).
    # Not LIKE on the FTS5 table: SQLite 3.40's trigram LIKE crashes on some patterns.
    found = func.instr(func.lower(doc), func.lower(term)) > 0
    return exists().where(_FTS.c.rowid == orders.c.id, found)


def _in_tracking(term: str) -> ColumnElement[bool]:
    number = shipments.c.tracking_number
    found = func.instr(func.lower(number), func.lower(term)) > 0
    return exists().where(shipments.c.order_id == orders.c.id, found)


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


def search_for(conn: Connection, query: OrderQuery) -> Search:
    """The search condition of this connection's database for this query's list."""
    if conn.dialect.name == "postgresql":
        return _postgresql
    return _sqlite(conn, by_id=query.sort[0].field == "id")


def compile_orders(query: OrderQuery, conn: Connection) -> Compiled:
    """The query compiled over the orders table, `q=` included."""
    return compile_query(query, FILTER_COLUMNS, search_for(conn, query))


def modelled(name: str | None, type_: str, parent_names: object = None) -> bool:
    """False for what migrations made outside the models (0017, 0019 and 0022: the FTS5
    tables and their shadow tables, the trigram indexes; 0026: SQLite's `order_texts`,
    store/texts.py): Alembic's `include_name` for comparing."""
    if name is None:
        return True
    if type_ == "table":
        return not name.startswith((SEARCH_TABLE, TRACKING_TABLE)) and name != TEXTS_TABLE
    return not (type_ == "index" and name in (SEARCH_INDEX, TRACKING_INDEX))
