"""Connection pools on PostgreSQL: ORDERHUB_DB_POOL_SIZE + ORDERHUB_DB_MAX_OVERFLOW bound the
connections one process opens (docs/scaling.md, "Connection pools"), counted by the server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import TimeoutError as PoolTimeout

from orderhub.settings import SettingsError, get_settings
from orderhub.store import make_engine


@pytest.fixture
def pool_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    get_settings.cache_clear()
    try:
        yield monkeypatch
    finally:
        get_settings.cache_clear()


def _connections_to(conn: Connection, database: str) -> int:
    """Backends connected to `database`, other than the one asking (PostgreSQL's own count)."""
    # Within a transaction PostgreSQL shows the activity as of its first look: look afresh.
    conn.execute(text("SELECT pg_stat_clear_snapshot()"))
    query = "SELECT count(*) FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()"
    return int(conn.execute(text(query), {"db": database}).scalar_one())


def test_a_process_opens_at_most_pool_size_plus_overflow(
    pg_database: str, pool_env: pytest.MonkeyPatch
) -> None:
    pool_env.setenv("ORDERHUB_DB_POOL_SIZE", "2")
    pool_env.setenv("ORDERHUB_DB_MAX_OVERFLOW", "1")
    engine = make_engine(pg_database, pool_timeout=0.5)
    watcher = make_engine(pg_database, pool_size=1, max_overflow=0)
    database = engine.url.database or ""
    try:
        with watcher.connect() as watch, ExitStack() as held:
            before = _connections_to(watch, database)
            for _ in range(3):
                held.enter_context(engine.connect()).execute(text("SELECT 1"))
            assert _connections_to(watch, database) == before + 3
            with pytest.raises(PoolTimeout):
                engine.connect()  # a fourth waits for one of the three, then gives up
            assert _connections_to(watch, database) == before + 3
        # Back in the pool: the two of pool_size stay open, the overflow one is closed.
        assert engine.pool.checkedin() == 2
    finally:
        engine.dispose()
        watcher.dispose()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ORDERHUB_DB_POOL_SIZE", "0"),
        ("ORDERHUB_DB_MAX_OVERFLOW", "-1"),
        ("ORDERHUB_DB_POOL_SIZE", "x"),
    ],
)
def test_a_bad_pool_setting_names_its_variable(
    pool_env: pytest.MonkeyPatch, name: str, value: str
) -> None:
    pool_env.setenv(name, value)
    with pytest.raises(SettingsError, match=f"environment variable {name}="):
        get_settings()
