"""Bulk ingest of orders (`orderhub generate`): rows encoded where the orders are made, written
in large batches by one writer (docs/performance.md, "Ingest").

Encoding (`encode_samples` for the sample orders, straight from their random stream;
`encode_batch` for any orders) is pure and needs no connection, so it runs in the processes
that generate the orders; the writer (`BulkWriter`) only hands finished rows to the database:

- SQLite: one `executemany` of `upsert_many`'s upsert per channel type, the batch's new rows
  indexed for search in one statement with the documents the producer made
  (store/search.py, `indexed_as_a_batch`).
- PostgreSQL: the rows as COPY text into a temporary table, then one `INSERT ... SELECT` with
  the same upsert per channel type. The search index is an expression index, kept by the
  database itself.
- Into an empty table, the secondary indexes are built at the end and PostgreSQL's rows are
  copied straight into `orders` over two connections (store/ingest_load.py).

The upsert is the one `OrderRepository.upsert_many` runs: the same seed twice gives the same
orders, and an order already stored is updated only by a newer report.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import Connection, Engine, column, select, table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import Dialect

from orderhub.domain import ChannelType, Order
from orderhub.domain.jsonfmt import loads
from orderhub.domain.sample_rows import ROW_FIELDS, RowFormat, sample_rows
from orderhub.store.ingest_load import (
    ParallelCopy,
    build_indexes,
    drop_secondary_indexes,
    reserve_ids,
    restore_missing_indexes,
    table_is_empty,
)
from orderhub.store.order_rows import order_row
from orderhub.store.search import SEARCH_INDEX, SEARCHED, indexed_as_a_batch
from orderhub.store.tables import orders
from orderhub.store.upsert import on_conflict_update

#: Every column a new order is written with (the database gives the id).
INGEST_COLUMNS = tuple(c.name for c in orders.c if c.name != "id")
#: PostgreSQL: the session's staging table, emptied at each commit.
_STAGING = "orders_ingest"
#: PostgreSQL: the search index's pending list while a batch is written (the GUC's default is
#: 4 MB): fewer, larger merges into the trigram index (89 -> 78 us of server CPU an order).
_PENDING_LIST = "SET LOCAL gin_pending_list_limit = '64MB'"
_DIALECTS: dict[str, Callable[[], Dialect]] = {
    "sqlite": SQLiteDialect_pysqlite,
    "postgresql": PGDialect_psycopg,
}


@dataclass(frozen=True, slots=True)
class EncodedBatch:
    """Orders ready for one dialect's writer: per channel type, SQLite's parameter tuples
    (INGEST_COLUMNS' order) or PostgreSQL's COPY text."""

    count: int
    rows: dict[ChannelType, list[tuple[Any, ...]]] | None = None
    copy_text: bytes | None = None
    channel_types: tuple[ChannelType, ...] = ()
    #: SQLite: each row's search document but its id, in the order of `rows` (flattened).
    documents: list[str] | None = None


def encode_batch(dialect_name: str, batch: Sequence[Order]) -> EncodedBatch:
    """The rows of new orders as `dialect_name`'s writer takes them (the columns' own bind
    conversions: exact money, UTC times)."""
    processors = _processors(dialect_name)
    if dialect_name == "sqlite":
        grouped: dict[ChannelType, list[tuple[Any, ...]]] = {}
        for order in batch:
            values = _values(processors, order_row(order))
            grouped.setdefault(ChannelType(order.channel_type), []).append(values)
        return EncodedBatch(len(batch), rows=grouped, channel_types=tuple(grouped))
    lines = []
    for order in batch:
        lines.append("\t".join(map(_copy_text, _values(processors, order_row(order)))))
    types = tuple(sorted({ChannelType(order.channel_type) for order in batch}))
    text = "".join(line + "\n" for line in lines).encode()
    return EncodedBatch(len(batch), copy_text=text, channel_types=types)


assert (*ROW_FIELDS, "version") == INGEST_COLUMNS, "sample rows are in INGEST_COLUMNS order"

#: Sample rows with the columns' bind conversions (store/types.py) done by hand: SQLite's
#: parameters (amounts in 1/10,000 units, naive UTC text) and COPY text (the same as
#: _copy_text of the converted values: tests/test_ingest.py compares both byte for byte).
_SQLITE_ROW = RowFormat(
    moment=lambda day, clock: f"{day} {clock}.000000",
    money=lambda cents: cents * 100,
    integer=int,
    true=1,
    false=0,
    null=None,
)
_COPY_ROW = RowFormat(
    moment=lambda day, clock: f"{day}T{clock}+00:00",
    money=lambda cents: f"{cents // 100}.{cents % 100:02d}00",
    integer=str,
    true="t",
    false="f",
    null="\\N",
)
_VERSION = (1,)


def encode_samples(
    dialect_name: str, seed: int, start: int, count: int, first_id: int | None = None
) -> EncodedBatch:
    """encode_batch of `generate_orders(count, seed, start)`, made without the Order objects.
    `first_id`: PostgreSQL's COPY text with the ids, given in the order the upsert path's
    INSERT ... SELECT per channel type gives them."""
    if dialect_name == "sqlite":
        grouped: dict[ChannelType, list[tuple[Any, ...]]] = {}
        for row in sample_rows(count, seed, start, _SQLITE_ROW):
            grouped.setdefault(ChannelType(row[1]), []).append(row + _VERSION)
        documents = [_document(row) for rows in grouped.values() for row in rows]
        return EncodedBatch(count, grouped, channel_types=tuple(grouped), documents=documents)
    rows = [(row[1], "\t".join(row)) for row in sample_rows(count, seed, start, _COPY_ROW)]
    types = tuple(sorted({ChannelType(name) for name, _ in rows}))
    if first_id is None:
        text = "".join(f"{line}\t1\n" for _, line in rows)
    else:
        rows.sort(key=lambda row: row[0])  # stable: by type, then as generated
        text = "".join(f"{first_id + n}\t{line}\t1\n" for n, (_, line) in enumerate(rows))
    _check_copy_text(text, count, len(INGEST_COLUMNS) + (first_id is not None))
    return EncodedBatch(count, copy_text=text.encode(), channel_types=types)


_SEARCHED_AT = tuple(INGEST_COLUMNS.index(name) for name in SEARCHED[1:-1])
_LINES_AT = INGEST_COLUMNS.index("lines")


def _document(row: tuple[Any, ...]) -> str:
    """A row's search document (SQLITE_DOCUMENT) without its leading id."""
    parts = [row[at] or "" for at in _SEARCHED_AT]
    skus = " ".join(line["sku"] or "" for line in loads(row[_LINES_AT]))
    return f" {' '.join(parts)} {skus}"


def _check_copy_text(text: str, rows: int, columns: int) -> None:
    """The sample texts hold no tab, newline or backslash of their own (COPY would need them
    escaped): every line has its columns, every backslash starts a null."""
    if (
        text.count("\n") != rows
        or text.count("\t") != rows * (columns - 1)
        or text.count("\\") != text.count("\\N")
    ):
        raise ValueError("sample rows hold characters COPY text must escape")


#: Each column's bind conversion (None: the value as it is), in INGEST_COLUMNS' order.
Processors = tuple[tuple[str, Callable[[Any], Any] | None], ...]


@cache
def _processors(dialect_name: str) -> Processors:
    dialect = _DIALECTS[dialect_name]()
    return tuple(
        (name, orders.c[name].type.dialect_impl(dialect).bind_processor(dialect))
        for name in INGEST_COLUMNS
    )


def _values(processors: Processors, row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(
        value if convert is None or value is None else convert(value)
        for name, convert in processors
        for value in (row[name],)
    )


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: Any) -> str:
    """A value in COPY's text format (PostgreSQL parses it by the column's type)."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


class BulkWriter:
    """Writes encoded batches, a transaction per batch: through one connection, or into an
    empty table (`empty_load`) with the secondary indexes built at the end and, on
    PostgreSQL, over `connections` connections (store/ingest_load.py)."""

    def __init__(
        self,
        engine: Engine,
        count: int,
        progress: Callable[[int], None] | None = None,
        empty_load: bool = True,
        connections: int = 2,
    ) -> None:
        self.engine = engine
        self.dialect_name = engine.dialect.name
        self.count = count
        self.progress = progress
        self.empty_load = empty_load
        self.connections = connections
        self.deferred: list[str] | None = None
        self.first_id: int | None = None
        self.copier: ParallelCopy | None = None

    def __enter__(self) -> BulkWriter:
        self.conn = self.engine.connect()
        if self.empty_load:
            with self.conn.begin():
                if self.dialect_name == "sqlite":
                    self.conn.exec_driver_sql("BEGIN IMMEDIATE")
                if table_is_empty(self.conn):
                    self.deferred = drop_secondary_indexes(self.conn)
                    if self.dialect_name == "postgresql":
                        self.first_id = reserve_ids(self.conn, self.count)
        if self.first_id is not None:
            columns = ", ".join(("id", *INGEST_COLUMNS))
            self.copier = ParallelCopy(self.engine, columns, self.connections, _PENDING_LIST)
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            try:
                if self.copier is not None:
                    self.copier.close(self.progress)
            finally:
                if self.deferred is not None:
                    # Also after an error: the indexes of the rows written so far.
                    build_indexes(self.conn, self.deferred, self.connections)
            if exc_info[0] is None:
                self._finish()
        finally:
            self.conn.close()

    def ids_from(self, start: int) -> int | None:
        """The id of the `start`-th order of the load when the writer gives the ids."""
        return None if self.first_id is None else self.first_id + start

    def write(self, batch: EncodedBatch) -> None:
        if self.copier is not None:
            assert batch.copy_text is not None
            self._done(self.copier.submit(batch.copy_text, batch.count))
            return
        with self.conn.begin():
            if self.dialect_name == "sqlite":
                # The writer's lock from the start (store/engine.py): ids are read below.
                self.conn.exec_driver_sql("BEGIN IMMEDIATE")
                _write_sqlite(self.conn, batch)
            else:
                _write_postgresql(self.conn, batch)
        self._done(batch.count)

    def _done(self, count: int) -> None:
        if self.progress is not None and count:
            self.progress(count)

    def _finish(self) -> None:
        if self.deferred is None:
            with self.conn.begin():
                if self.dialect_name == "sqlite":
                    self.conn.exec_driver_sql("BEGIN IMMEDIATE")
                restore_missing_indexes(self.conn)
        if self.dialect_name == "sqlite":
            # autocheckpoint keeps the WAL near one batch; leave it empty at the end.
            self.conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            with self.conn.begin():
                self.conn.exec_driver_sql(f"SELECT gin_clean_pending_list('{SEARCH_INDEX}')")


def _write_sqlite(conn: Connection, batch: EncodedBatch) -> None:
    assert batch.rows is not None
    with indexed_as_a_batch(conn, batch.count, batch.documents):
        for channel_type, rows in batch.rows.items():
            conn.exec_driver_sql(_sqlite_upsert(conn.dialect, channel_type), rows)


@cache
def _sqlite_upsert(dialect: Dialect, channel_type: ChannelType) -> str:
    stmt = on_conflict_update(
        sqlite.insert(orders), channel_type, keep_confirmed=True, or_same_time=False
    )
    compiled = stmt.compile(dialect=dialect, column_keys=list(INGEST_COLUMNS))
    assert tuple(compiled.positiontup or ()) == INGEST_COLUMNS, "rows are in INGEST_COLUMNS order"
    return compiled.string


_staging = table(_STAGING, *(column(name) for name in INGEST_COLUMNS))


def _write_postgresql(conn: Connection, batch: EncodedBatch) -> None:
    assert batch.copy_text is not None
    names = ", ".join(INGEST_COLUMNS)
    conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGING} ON COMMIT DELETE ROWS"
        f" AS SELECT {names} FROM orders WITH NO DATA"
    )
    conn.exec_driver_sql(_PENDING_LIST)
    driver = conn.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(f"COPY {_STAGING} ({names}) FROM STDIN") as copy:
        copy.write(batch.copy_text)
    for channel_type in batch.channel_types:
        conn.execute(_postgresql_upsert(channel_type))


@cache
def _postgresql_upsert(channel_type: ChannelType) -> Any:
    staged = select(*(_staging.c[name] for name in INGEST_COLUMNS)).where(
        _staging.c.channel_type == channel_type.value
    )
    stmt = postgresql.insert(orders).from_select(list(INGEST_COLUMNS), staged)
    return on_conflict_update(stmt, channel_type, keep_confirmed=True, or_same_time=False)
