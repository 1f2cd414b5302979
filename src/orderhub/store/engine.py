"""Engines for SQLite (WAL, the embedded default) and PostgreSQL (psycopg 3).

SQLite takes one writer at a time for the whole file. Two rules keep concurrent processes
from ever seeing "database is locked" (docs/architecture.md, Concurrency):

- a writer waits for the lock (`busy_timeout`) instead of failing at once, and
- a transaction never reads first and then asks for the write lock: in WAL mode a reader whose
  snapshot is older than another process's commit cannot become a writer (SQLITE_BUSY_SNAPSHOT,
  which no timeout helps). The driver begins a transaction only at its first write, with
  BEGIN IMMEDIATE; reads before it are statements of their own. A `UnitOfWork` begins with
  BEGIN IMMEDIATE itself (store/uow.py), so everything it reads is current when it writes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

#: How long a SQLite writer waits for another process's write transaction to end.
SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalise_url(url: str) -> str:
    """Accept plain postgresql:// URLs and use the psycopg 3 driver for them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        connect_args = {"check_same_thread": False, "isolation_level": "IMMEDIATE"}
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # NORMAL is durable across application crashes in WAL mode; only power loss can drop
    # the last commits, which a re-sync recovers.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Thirty seconds of other writers' transactions to wait through: writes are
    # short (a sync page, one order's change), so this is only ever reached by a stuck process.
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def refresh_statistics(engine: Engine, *, force: bool = False) -> bool:
    """Give SQLite's query planner row statistics (ANALYZE) when it has none or they are stale.

    Without them SQLite guesses that every equality filter is selective, and may walk the
    low-selectivity (test, status) index for `customer_id=in:...`, reading most of the table.
    PostgreSQL's autovacuum keeps its own statistics. Returns whether it analysed.
    """
    if engine.dialect.name != "sqlite":
        return False
    with engine.begin() as conn:
        rows = conn.exec_driver_sql("SELECT count(*) FROM orders").scalar_one()
        known = _analysed_rows(conn)
        if not force and known is not None and known * 0.5 <= rows <= known * 2 + 1000:
            return False
        conn.exec_driver_sql("ANALYZE")
    return True


def _analysed_rows(conn: Any) -> int | None:
    has_stats = conn.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'"
    ).first()
    if has_stats is None:
        return None
    stat = conn.exec_driver_sql(
        "SELECT stat FROM sqlite_stat1 WHERE tbl = 'orders' AND idx IS NULL"
        " UNION ALL SELECT stat FROM sqlite_stat1 WHERE tbl = 'orders' LIMIT 1"
    ).scalar()
    return int(str(stat).split()[0]) if stat else None
