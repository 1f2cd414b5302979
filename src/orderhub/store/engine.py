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

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from orderhub.settings import get_settings
from orderhub.store import budget

#: How long a SQLite writer waits for another process's write transaction to end.
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: SQLite's page cache per connection, in KiB: what the read API's hot pages live in.
SQLITE_CACHE_KIB = 65_536
#: The page cache while a connection goes through pages it will not need again soon: an
#: export's reads, a bulk job's batches.
STREAMING_CACHE_KIB = 4_096
#: How long a PostgreSQL connection attempt may take before the database counts as unreachable.
CONNECT_TIMEOUT_S = 10
EXPECTED_URL = "sqlite:///PATH or postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME"


class DatabaseUnavailable(Exception):
    """The configured database cannot be used: its URL, its server or its schema."""


class DatabaseUrlInvalid(DatabaseUnavailable, ArgumentError):
    """Also SQLAlchemy's ArgumentError, which callers of make_url already catch."""

    def __init__(self, url: str) -> None:
        shown = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)
        super().__init__(f"the database URL {shown!r} is not valid: expected {EXPECTED_URL}")


class DatabaseUnreachable(DatabaseUnavailable):
    def __init__(self, engine: Engine, exc: BaseException) -> None:
        lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        reason = lines[0].strip() if lines else type(exc).__name__
        super().__init__(f"cannot reach the database at {shown_url(engine.url)}: {reason}")


def shown_url(url: URL) -> str:
    """The URL without its password; a relative SQLite path also as the absolute one it is."""
    text = url.render_as_string(hide_password=True)
    path = sqlite_path(url)
    return f"{text} ({path.resolve()})" if path is not None and not path.is_absolute() else text


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL; None for other databases and in-memory SQLite."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return None if url.database.startswith("file:") else Path(url.database)


def check_reachable(engine: Engine) -> None:
    """DatabaseUnreachable unless a connection opens (SQLite creates a missing file)."""
    try:
        with engine.connect():
            pass
    except DBAPIError as exc:
        raise DatabaseUnreachable(engine, exc) from exc


def normalise_url(url: str) -> str:
    """Accept plain postgresql:// URLs and use the psycopg 3 driver for them."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUrlInvalid(url) from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql", "postgres"):
        raise DatabaseUrlInvalid(url)
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
    settings = get_settings()
    kwargs.setdefault("pool_size", settings.db_pool_size)
    kwargs.setdefault("max_overflow", settings.db_max_overflow)
    kwargs.setdefault("connect_args", {"connect_timeout": CONNECT_TIMEOUT_S})
    return create_engine(url, pool_pre_ping=True, **kwargs)


def pool_size(engine: Engine) -> int:
    """How many connections the engine's pool keeps open between uses (1 for a pool that
    holds a single connection, such as in-memory SQLite's)."""
    size = getattr(engine.pool, "size", None)
    return int(size()) if callable(size) else 1


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
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.close()
    budget.watch(dbapi_connection)


@contextmanager
def streaming(engine: Engine) -> Iterator[Connection]:
    """A connection for reading pages once, in order (an export), with a small page cache."""
    with engine.connect() as conn, small_cache(conn):
        yield conn


@contextmanager
def small_cache(conn: Connection) -> Iterator[Connection]:
    """On SQLite, the connection's page cache is STREAMING_CACHE_KIB meanwhile, then the read
    API's again. For work that goes through many pages once each (an export, a bulk job's
    batches): a cache the size of the read API's would fill with pages nobody reads again, so
    a million-order export or job would hold the process at its largest for nothing. The
    pages cached beyond the small size are freed as it is set (SQLite's pcache)."""
    if conn.dialect.name != "sqlite":
        yield conn
        return
    conn.exec_driver_sql(f"PRAGMA cache_size=-{STREAMING_CACHE_KIB}")
    try:
        yield conn
    finally:
        if not conn.invalidated:  # an invalidated connection is discarded, not pooled
            conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")


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
