"""Exact list totals kept per process until the database changes (SQLite).

On 1,000,000 orders the `count(*)` of a broad list (the default first page) reads most of an
index: 60-90 ms, where the page itself takes a few. The count of the same filter is asked again
and again (every page of a walk, every client polling the first page), so a process keeps the
totals it counted, keyed by the count statement and its parameters, and drops them all as soon
as the database may have changed:

- a commit through this process's engines (any connection, any table) drops them, except the
  quiet writes (`quiet_writes`: the API keys' usage counts, which no list reads);
- a commit by another process or connection: SQLite's `PRAGMA data_version`, read before each
  cached count on one connection per engine held open for it (the sentinel), differs from the
  value it read last. A connection's own commits do not change its `data_version`, so the quiet
  writes go through the sentinel itself: the once-a-second usage counts of unlimited keys
  would otherwise empty the cache every second. A count waits up to 50 ms for the sentinel
  (another request reading `data_version` holds it for microseconds); while a quiet write
  holds it longer, the count treats the database as changed rather than wait.

Requests that ask for a total already being counted (at the same generation) wait for it
rather than count it again: under load, 8 connections polling the first page used to run 8
counts at once after each change.

A total is stored under the generation read *before* it was counted: a change committed while
it was being counted makes it stale at once. The cache is therefore exact, never a time-based
guess. The price: any other commit (a sync page, a PUT, a limited key's
request count) empties it, so the next request of each filter counts again.

PostgreSQL has no cheap "has anything changed" marker visible to every session, so totals are
not cached there: `count=estimated` (the planner's estimate, no rows read) is its cheap total.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from sqlalchemy import Connection, Engine, Select, event

from orderhub.store import budget

#: Totals kept per process (least recently used dropped first).
MAX_ENTRIES = 1_000
_QUIET = "orderhub_quiet_writes"
#: How long a count waits for the sentinel (seconds) before treating the database as changed.
_READ_WAIT = 0.05


class _Flight:
    """One count under way, at one generation; `done` is set when it ends (total or not)."""

    def __init__(self, generation: int) -> None:
        self.generation = generation
        self.done = threading.Event()
        self.total: int | None = None


class CountCache:
    """Totals by statement, valid while the generation they were counted at is current."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation = 0
        self._totals: OrderedDict[Any, tuple[int, int]] = OrderedDict()
        #: Counts under way: requests for the same total wait for it instead of counting too.
        self._flights: dict[Any, _Flight] = {}
        #: Engines stay keys until disposed: engines are few and live as long as the process.
        self._sentinels: dict[Engine, _Sentinel] = {}
        #: Counts answered from the cache and counted, for tests and the docs' figures.
        self.hits = 0
        self.misses = 0

    def changed(self) -> None:
        """The database may have changed: every total kept is stale."""
        with self._lock:
            self._generation += 1
            self._totals.clear()

    def count(self, conn: Connection, stmt: Select[Any]) -> int:
        """The `count(*)` statement's result, from the cache when nothing changed since."""
        if conn.dialect.name != "sqlite":
            return int(conn.execute(stmt).scalar_one())
        key = (id(conn.engine), str(conn.engine.url), *_statement_key(stmt, conn))
        return self._counted(conn.engine, key, lambda: int(conn.execute(stmt).scalar_one()))

    def count_sql(self, conn: Connection, sql: str, params: tuple[Any, ...]) -> int:
        """`count` of a statement compiled already (store/shaped.py): its SQL and parameters."""
        key = (id(conn.engine), str(conn.engine.url), sql, repr(params))
        return self._counted(
            conn.engine, key, lambda: int(conn.exec_driver_sql(sql, params).scalar_one())
        )

    def count_driver(
        self, engine: Engine, driver: sqlite3.Connection, sql: str, params: tuple[Any, ...]
    ) -> int:
        """`count_sql` run on one of the engine's driver connections (store/held.py); the
        same totals, under the same keys."""
        key = (id(engine), str(engine.url), sql, repr(params))
        return self._counted(engine, key, lambda: int(driver.execute(sql, params).fetchone()[0]))

    def _counted(self, engine: Engine, key: Any, run: Callable[[], int]) -> int:
        generation = self._current(engine)
        with self._lock:
            hit = self._totals.get(key)
            if hit is not None and hit[0] == generation:
                self._totals.move_to_end(key)
                self.hits += 1
                return hit[1]
            flight = self._flights.get(key)
            leader = flight is None or flight.generation != generation
            if leader:
                flight = self._flights[key] = _Flight(generation)
                self.misses += 1
        assert flight is not None
        if not leader:
            # The same count is under way at this generation: its total is this request's
            # (a call with a time budget waits only as long as its budget).
            if not flight.done.wait(budget.remaining()):
                raise budget.OverBudget("a count under way in another thread")
            if flight.total is not None:
                with self._lock:
                    self.hits += 1
                return flight.total
            return run()  # the first one failed
        try:
            flight.total = run()
        finally:
            flight.done.set()
            with self._lock:
                if self._flights.get(key) is flight:
                    del self._flights[key]
        with self._lock:
            if generation == self._generation:
                self._totals[key] = (generation, flight.total)
                if len(self._totals) > MAX_ENTRIES:
                    self._totals.popitem(last=False)
        return flight.total

    def _current(self, engine: Engine) -> int:
        """The generation, after noticing a commit made since the last look (see the module)."""
        sentinel = self._sentinel(engine)
        # Another request reading data_version holds the lock for microseconds: wait for it
        # (not waiting made concurrent requests empty the cache for each other). A quiet write
        # holding it longer: assume the worst rather than wait.
        left = budget.remaining()
        if not sentinel.lock.acquire(timeout=_READ_WAIT if left is None else min(left, _READ_WAIT)):
            self.changed()
            return self._generation
        try:
            version = sentinel.data_version()
            if version != sentinel.seen:
                sentinel.seen = version
                self.changed()
        finally:
            sentinel.lock.release()
        return self._generation

    def forget(self, engine: Engine) -> None:
        """Close the engine's sentinel (its pool is being disposed)."""
        with self._lock:
            sentinel = self._sentinels.pop(engine, None)
        if sentinel is not None:
            with sentinel.lock:
                sentinel.close()

    def _sentinel(self, engine: Engine) -> _Sentinel:
        with self._lock:
            sentinel = self._sentinels.get(engine)
            if sentinel is None or sentinel.broken:
                sentinel = self._sentinels[engine] = _Sentinel(engine)
            return sentinel


def _statement_key(stmt: Select[Any], conn: Connection) -> tuple[Any, str]:
    """What identifies the count: SQLAlchemy's cache key of the statement (the key of its
    compiled SQL) and its parameters' values; cheaper than compiling it on every request."""
    cache_key = stmt._generate_cache_key()
    if cache_key is None:  # an element SQLAlchemy does not cache: its SQL then
        compiled = stmt.compile(dialect=conn.dialect)
        return compiled.string, repr(compiled.params)
    return cache_key.key, repr([param.effective_value for param in cache_key.bindparams])


class _Sentinel:
    """One connection per engine, held open: `data_version` is read on it, and the quiet
    writes go through it, so they never change the value it reads."""

    def __init__(self, engine: Engine) -> None:
        self.lock = threading.Lock()
        self.conn = engine.connect()
        self.conn.info[_QUIET] = True
        self.seen: int | None = None

    @property
    def broken(self) -> bool:
        return self.conn.closed or self.conn.invalidated

    def data_version(self) -> int:
        # On the driver's connection: a PRAGMA begins no transaction there, and SQLAlchemy's
        # execution and autobegun transaction would cost more than the read.
        driver = self.conn.connection.driver_connection
        assert driver is not None
        return int(driver.execute("PRAGMA data_version").fetchone()[0])

    def close(self) -> None:
        with suppress(Exception):
            self.conn.close()


#: One per process: every engine's commits drop it (SQLite engines are usually one per file).
TOTALS = CountCache()


@contextmanager
def quiet_writes(engine: Engine) -> Iterator[Connection]:
    """A transaction for writes that no list can see (the API keys' usage counts): on SQLite
    it runs on the sentinel connection, so it empties no cached total."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    sentinel = TOTALS._sentinel(engine)
    with sentinel.lock, sentinel.conn.begin():
        yield sentinel.conn


@event.listens_for(Engine, "engine_disposed")
def _on_dispose(engine: Engine) -> None:
    TOTALS.forget(engine)


@event.listens_for(Engine, "commit")
def _on_commit(conn: Connection) -> None:
    # Fired just before the commit itself: a total counted meanwhile by another thread is
    # stored under the new generation; the sentinel's next look, which sees this commit's
    # new data_version, drops it.
    if not conn.info.get(_QUIET):
        TOTALS.changed()
