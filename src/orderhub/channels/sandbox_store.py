"""What the SQL-backed channel sandbox stores share: an in-memory SQLite table of the columns the
channel's list call filters and sorts on, and each order's JSON text beside it.

A channel's store subclasses `SqlOrderStore` with its table, its id column and how a payload
becomes a row; it adds its own queries (its list call's page, through `ordered_ids`).

Built for a million orders (issue 15): the JSON text lives in a dict by id (or, started from a
snapshot, in its file: `sandbox_snapshot`), not in the table, so the table stays narrow and a
filter scans little; bulk inserts go straight to sqlite3 in one transaction; and `ordered_ids`
keeps the ordered ids of the last queries until the next write, so paging by page number
through one query costs one scan, then a slice per page (what an offset would skip is never
read again). docs/performance.md, "Sandboxes", has the figures.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import (
    Callable,
    Collection,
    Hashable,
    Iterable,
    Mapping,
    MutableMapping,
    Sequence,
)
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, Select, Table, create_engine, select
from sqlalchemy.pool import StaticPool
from sqlalchemy.schema import CreateTable
from sqlalchemy.sql.elements import ColumnElement

from orderhub.domain.jsonfmt import dumps

#: An order as the channel's JSON.
Payload = dict[str, Any]
#: How many queries' ordered ids `ordered_ids` keeps (each at most one list of ints).
CACHED_QUERIES = 8


class SqlOrderStore:
    """Thread-safe: the API, the life ticker and tests may touch it at once."""

    def __init__(
        self,
        table: Table,
        id_column: Column[Any],
        row: Callable[[Mapping[str, Any]], Any],
        summary: Callable[[Payload], Any] | None = None,
    ) -> None:
        """`summary`, when given, is what the channel's list shows of an order (a part of its
        JSON): kept as JSON text too (`summaries`), for pages to splice."""
        self.engine = create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
        table.metadata.create_all(self.engine)
        self.lock = threading.RLock()
        self.table = table
        self.id_column = id_column
        self._row = row
        #: Each order's JSON text by id (what a page splices in as it is): a dict, or the
        #: texts of a snapshot on disk (`open_snapshot`).
        self.texts: MutableMapping[int, str] = {}
        self.summaries: MutableMapping[int, str] = {}
        self._summary = summary
        #: Bumped by every write: the ordered ids cached before it are stale.
        self.version = 0
        self._ordered: OrderedDict[Hashable, tuple[int, list[int]]] = OrderedDict()
        self._raw = _RawWrites(self.engine, table)

    def insert(self, payloads: Iterable[Payload]) -> None:
        """Add new orders, in one transaction."""
        with self.lock:
            rows = []
            for payload in payloads:
                values = self._row(payload)
                rows.append(values)
                self._keep(int(values[self.id_column.name]), payload)
            self._raw.insert_many(rows)
            self.version += 1

    @property
    def bulk_sql(self) -> str:
        """The INSERT of one row's values (`stored`) into the table."""
        return self._raw.insert_sql

    @property
    def table_ddl(self) -> str:
        """The CREATE TABLE of the store's table (a snapshot's holds the same)."""
        return str(CreateTable(self.table).compile(self.engine))

    def stored(self, payload: Payload) -> tuple[Any, ...]:
        """What `insert` keeps of an order: its row's values as inserted, its JSON text and its
        summary text (None without a summary)."""
        values = self._raw.values(self._row(payload))
        summary = None if self._summary is None else compact_json(self._summary(payload))
        return (*values, compact_json(payload), summary)

    def open_snapshot(self, rows: Any, texts: Any) -> None:
        """Take the starting orders of a snapshot (`sandbox_snapshot`): its table file `rows`
        copied into the empty in-memory table, `texts` (a `FileTexts`) as the JSON texts."""
        with self.lock:
            source = sqlite3.connect(f"file:{rows}?mode=ro", uri=True)
            raw = self.engine.raw_connection()
            try:
                target = raw.driver_connection
                assert isinstance(target, sqlite3.Connection)
                source.backup(target)
            finally:
                raw.close()
                source.close()
            self.texts, summaries = self.snapshot_texts(texts)
            if self._summary is not None:
                self.summaries = summaries
            self.version += 1

    def snapshot_texts(self, texts: Any) -> tuple[MutableMapping[int, str], Any]:
        """The JSON texts and the summaries of a snapshot's orders (`texts`, a `FileTexts`):
        its text column, its summary column (what `stored` gave)."""
        return texts, texts.column("summary")

    def save(self, payload: Payload) -> None:
        self.save_columns(payload, None)

    def save_columns(self, payload: Payload, columns: Collection[str] | None) -> None:
        """Replace a stored order; `columns`, when the caller knows them, are the only ones
        whose values may have changed: only they are written (a MALL confirmation's one)."""
        with self.lock:
            order_id = int(payload[self.id_column.name])
            row = self._row(payload)
            if columns is not None:
                row = {name: row[name] for name in columns if name in row}
            self._raw.update(self.id_column.name, order_id, row)
            self._keep(order_id, payload)
            self.version += 1

    def _keep(self, order_id: int, payload: Payload) -> None:
        self.texts[order_id] = compact_json(payload)
        if self._summary is not None:
            self.summaries[order_id] = compact_json(self._summary(payload))

    def put(self, payload: Payload) -> int:
        """Insert the order, or replace the one with its id; its id."""
        order_id = int(payload[self.id_column.name])
        with self.lock:
            if order_id not in self.texts:
                self.insert([payload])
            else:
                self.save(payload)
        return order_id

    def get(self, order_id: int) -> Payload | None:
        with self.lock:
            text = self.texts.get(order_id)
        return None if text is None else exact_loads(text)

    def ids(self, where: ColumnElement[bool]) -> list[int]:
        with self.lock, self.engine.connect() as conn:
            return list(conn.scalars(select(self.id_column).where(where).order_by(self.id_column)))

    def find(self, where: ColumnElement[bool]) -> list[Payload]:
        with self.lock:
            return [exact_loads(self.texts[i]) for i in self.ids(where)]

    def all(self) -> list[Payload]:
        with self.lock:
            return [exact_loads(self.texts[i]) for i in sorted(self.texts)]

    def count(self) -> int:
        with self.lock:
            return len(self.texts)

    def ordered_ids(
        self, query: Select[Any] | Callable[[], Select[Any]], key: Hashable | None = None
    ) -> list[int]:
        """The ids `query` (a select of the id column, or what builds it) gives, in its order:
        from the cache when no write came since the same query last ran. The same query is
        the same `key` (the channel's parsed request: building and compiling the statement
        costs more than a page), else the same SQL with the same values. Do not change the
        list."""
        if key is None:
            query = query() if callable(query) else query
            compiled = query.compile(self.engine)
            key = (compiled.string, *(_hashable(v) for v in compiled.params.values()))

        def run() -> list[int]:
            statement = query() if callable(query) else query
            with self.engine.connect() as conn:
                return list(conn.scalars(statement))

        return self.cached_ids(key, run)

    def cached_ids(self, key: Hashable, compute: Callable[[], list[int]]) -> list[int]:
        """`compute()`'s ids, kept under `key` until the next write (what `ordered_ids` keeps
        of a query; a channel's own ordering where SQL cannot sort)."""
        with self.lock:
            cached = self._ordered.get(key)
            if cached is not None and cached[0] == self.version:
                self._ordered.move_to_end(key)
                return cached[1]
            found = compute()
            self._ordered[key] = (self.version, found)
            while len(self._ordered) > CACHED_QUERIES:
                self._ordered.popitem(last=False)
            return found

    def fresh_ids(self, key: Hashable) -> list[int] | None:
        """The cached ids of the query `key` names (`ordered_ids`), if no write came since."""
        with self.lock:
            cached = self._ordered.get(key)
            return cached[1] if cached is not None and cached[0] == self.version else None

    def page_texts(
        self, query: Select[Any], offset: int, limit: int, *, summaries: bool = False
    ) -> tuple[int, list[str]]:
        """(how many ids `query` gives, the JSON texts (or `summaries`) of `limit` of them from
        `offset`)."""
        texts = self.summaries if summaries else self.texts
        with self.lock:
            ids = self.ordered_ids(query)
            return len(ids), texts_of(texts, ids[offset : offset + limit])


class _RawWrites:
    """Inserts and saves straight to sqlite3, each value through its column's SQLAlchemy bind
    processor (the same stored value as `table.insert()` and `table.update()`, without their
    per-statement overhead: building `update().values(...)` per save was 17 % of a MALL sandbox
    under a sync's PUTs)."""

    def __init__(self, engine: Any, table: Table) -> None:
        self.engine = engine
        self.names = [c.name for c in table.columns]
        processors = [c.type._cached_bind_processor(engine.dialect) for c in table.columns]
        self.processors = list(zip(self.names, processors, strict=True))
        marks = ", ".join("?" for _ in self.names)
        self.insert_sql = f"INSERT INTO {table.name} ({', '.join(self.names)}) VALUES ({marks})"
        self.table_name = table.name
        self._updates: dict[tuple[str, ...], str] = {}

    def insert_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            self._commit(self.insert_sql, [self.values(r) for r in rows])

    def update(self, id_name: str, order_id: int, row: Mapping[str, Any]) -> None:
        """Set the columns `row` names on the row `order_id`, in one prepared UPDATE (none
        named: nothing to write)."""
        named = [(name, process) for name, process in self.processors if name in row]
        if not named:
            return
        names = tuple(name for name, _ in named)
        sql = self._updates.get(names)
        if sql is None:
            assignments = ", ".join(f"{name} = ?" for name in names)
            sql = self._updates[names] = (
                f"UPDATE {self.table_name} SET {assignments} WHERE {id_name} = ?"
            )
        values = [_bound(row[name], process) for name, process in named]
        self._commit(sql, [(*values, order_id)])

    def values(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(_bound(row.get(name), process) for name, process in self.processors)

    def _commit(self, sql: str, values: list[tuple[Any, ...]]) -> None:
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.executemany(sql, values)
            cursor.close()
            raw.commit()
        finally:
            raw.close()


def _bound(value: Any, process: Callable[[Any], Any] | None) -> Any:
    return value if process is None or value is None else process(value)


def texts_of(texts: Mapping[int, str], ids: list[int]) -> list[str]:
    """The texts of `ids` in their order (a snapshot's in one query: `FileTexts.many`)."""
    many = getattr(texts, "many", None)
    return many(ids) if many is not None else [texts[i] for i in ids]


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def compact_json(value: Any) -> str:
    """JSON text to keep: a str of its exact size (orjson's bytes keep the buffer they were
    written in, about 16 kB for a 2 kB MALL order: 8x the memory for a million orders)."""
    return dumps(value).decode()


def exact_loads(text: str | bytes) -> Payload:
    """Channel JSON with exact amounts (a JSON number with a fraction is read as Decimal)."""
    # What json.loads(text, parse_float=Decimal) does, without making the decoder every call.
    if isinstance(text, bytes | bytearray):
        text = text.decode(json.detect_encoding(text), "surrogatepass")
    elif text.startswith("\ufeff"):
        return json.loads(text, parse_float=Decimal)  # its error for a BOM
    value: Payload = _EXACT.decode(text)
    return value


_EXACT = json.JSONDecoder(parse_float=Decimal)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def micros(at: datetime) -> int:
    """An aware time as whole microseconds since the epoch (exact: compares as the time); how
    the sandboxes' tables keep the times their lists filter and sort on."""
    return (at - _EPOCH) // _MICROSECOND


def from_micros(value: int) -> datetime:
    """`micros` read back: the aware UTC time."""
    return _EPOCH + value * _MICROSECOND
