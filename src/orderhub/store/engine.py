"""Engines for SQLite (WAL, the embedded default) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url


def normalise_url(url: str) -> str:
    """Accept plain postgresql:// URLs and use the psycopg 3 driver for them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
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
    cursor.execute("PRAGMA busy_timeout=10000")
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
