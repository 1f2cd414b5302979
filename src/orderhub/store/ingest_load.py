"""A bulk load into an EMPTY orders table (`orderhub generate` on a new database): its secondary
indexes built once at the end instead of row by row, and on PostgreSQL the rows copied
straight into `orders` over several connections (docs/performance.md, "Ingest").

What the load writes is what the upsert path writes (the same rows, the same ids, the same
search documents): only when the indexes are built differs. The unique key (channel,
external_id) and the primary key stay throughout, so the table never holds a duplicate.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from queue import SimpleQueue

from sqlalchemy import Connection, Engine

from orderhub.store.search import SEARCH_INDEX
from orderhub.store.tables import orders

#: PostgreSQL: memory for an index build (the default 64 MB makes the trigram index's build
#: spill and merge: ~2x slower).
_BUILD_MEMORY = "512MB"


def table_is_empty(conn: Connection) -> bool:
    return not conn.exec_driver_sql("SELECT EXISTS (SELECT 1 FROM orders)").scalar_one()


def drop_secondary_indexes(conn: Connection) -> list[str]:
    """Drop the orders table's indexes but its keys (in the caller's transaction); their DDL.

    PostgreSQL's search index stays: built afterwards it is one backend's serial work (~26 us
    of CPU an order) while everything else waits; kept (29-33 us), the COPY connections
    maintain it side by side."""
    if conn.dialect.name == "sqlite":
        found = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'orders'"
            " AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%' ORDER BY name"
        ).all()
    else:
        found = conn.exec_driver_sql(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i"
            " JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE i.indrelid = 'orders'::regclass AND NOT i.indisunique AND NOT i.indisprimary"
            " AND c.relname <> %(kept)s ORDER BY c.relname",
            {"kept": SEARCH_INDEX},
        ).all()
    for name, _ in found:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    return [ddl for _, ddl in found]


def build_indexes(conn: Connection, ddl: list[str], connections: int) -> None:
    """Create the dropped indexes again: SQLite through `conn` (its page cache, not a second
    one), one a transaction (the WAL holds one index's pages at most); PostgreSQL over
    `connections` connections of its engine at once."""
    statements = [_if_not_exists(statement) for statement in ddl]
    if conn.dialect.name == "sqlite":
        for statement in statements:
            with conn.begin():
                conn.exec_driver_sql(statement)
        return
    engine = conn.engine
    with ThreadPoolExecutor(max(1, connections)) as pool:
        list(pool.map(lambda statement: _build(engine, statement), statements))


def restore_missing_indexes(conn: Connection) -> None:
    """Create the orders table's indexes (store/tables.py) a load killed midway left dropped."""
    for index in orders.indexes:
        index.create(conn, checkfirst=True)


def _if_not_exists(statement: str) -> str:
    return statement.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1)


def _build(engine: Engine, statement: str) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{_BUILD_MEMORY}'")
        conn.exec_driver_sql(statement)


def reserve_ids(conn: Connection, count: int) -> int:
    """PostgreSQL: take the next `count` ids of the orders' sequence at once; the first."""
    sequence = "pg_get_serial_sequence('orders', 'id')"
    first = int(conn.exec_driver_sql(f"SELECT nextval({sequence})").scalar_one())
    conn.exec_driver_sql(f"SELECT setval({sequence}, {first + count - 1})")
    return first


class ParallelCopy:
    """PostgreSQL: COPY text written into `orders` over `connections` connections, one
    transaction a batch begun by `settings` (SET LOCAL ...); at most `connections` batches
    wait at once (memory stays flat)."""

    def __init__(self, engine: Engine, columns: str, connections: int, settings: str) -> None:
        self.engine = engine
        self.statement = f"COPY orders ({columns}) FROM STDIN"
        self.settings = settings
        self.connections = connections
        self.idle: SimpleQueue[Connection] = SimpleQueue()
        self.opened: list[Connection] = []
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(connections)
        self.pending: deque[tuple[Future[None], int]] = deque()

    def submit(self, text: bytes, count: int) -> int:
        """Queue a batch; the orders of the batches written meanwhile (in their order)."""
        self.pending.append((self.pool.submit(self._copy, text), count))
        done = 0
        while self.pending and (len(self.pending) > self.connections or self.pending[0][0].done()):
            future, written = self.pending.popleft()
            future.result()
            done += written
        return done

    def close(self, progress: Callable[[int], None] | None) -> None:
        """Wait for every batch (raising the first error) and close the connections."""
        try:
            while self.pending:
                future, written = self.pending.popleft()
                future.result()
                if progress is not None:
                    progress(written)
        finally:
            self.pool.shutdown(cancel_futures=True)
            for conn in self.opened:
                conn.close()

    def _copy(self, text: bytes) -> None:
        conn = self._connection()
        try:
            with conn.begin():
                conn.exec_driver_sql(self.settings)
                driver = conn.connection.driver_connection
                assert driver is not None
                with driver.cursor() as cursor, cursor.copy(self.statement) as copy:
                    copy.write(text)
        finally:
            self.idle.put(conn)

    def _connection(self) -> Connection:
        with self.lock:
            if self.idle.empty() and len(self.opened) < self.connections:
                self.opened.append(self.engine.connect())
                return self.opened[-1]
        return self.idle.get()
