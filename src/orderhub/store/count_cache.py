"""Exact list totals kept per process until the database changes (SQLite).

On 1,000,000 orders the `count(*)` of a broad list (the default first page) reads most of an
index: 60-90 ms, where the page itself takes a few. The count of the same filter is asked again
and again (every page of a walk, every client polling the first page), so a process keeps the
totals it counted, keyed by the count statement and its parameters, and drops them all as soon
as the database may have changed:

- a commit through this process's engines (any connection, any table) drops them, and marks
  its connection unseen (a connection's own commits do not change its `data_version`);
- a commit by another process, or another connection: SQLite's `PRAGMA data_version`, read on
  the connection about to count, differs from the value that connection saw last. Every
  connection reads it before using the cache, and a connection seen for the first time counts
  as changed, so a commit made anywhere is noticed by the first request after it, whichever
  pooled connection serves it.

Requests that ask for a total already being counted (at the same generation) wait for it
rather than count it again: under load, 8 connections polling the first page used to run 8
counts at once after each change.

A total is stored under the generation read *before* it was counted: a change committed while
it was being counted makes it stale at once. The cache is therefore exact, never a time-based
guess. The price: any commit (a sync page, a PUT, the batched usage of unlimited keys every
second) empties it, so the next request of each filter counts again.

PostgreSQL has no cheap "has anything changed" marker visible to every session, so totals are
not cached there: `count=estimated` (the planner's estimate, no rows read) is its cheap total.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy import Connection, Engine, Select, event

#: Totals kept per process (least recently used dropped first).
MAX_ENTRIES = 1_000
_DATA_VERSION = "orderhub_data_version"


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
        generation = self._current(conn)
        compiled = stmt.compile(dialect=conn.dialect)
        key = (id(conn.engine), str(conn.engine.url), compiled.string, repr(compiled.params))
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
            # The same count is under way at this generation: its total is this request's.
            flight.done.wait()
            if flight.total is not None:
                with self._lock:
                    self.hits += 1
                return flight.total
            return int(conn.execute(stmt).scalar_one())  # the first one failed
        try:
            flight.total = int(conn.execute(stmt).scalar_one())
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

    def _current(self, conn: Connection) -> int:
        """The generation, after noticing another connection's commit through this one."""
        version = conn.exec_driver_sql("PRAGMA data_version").scalar_one()
        info = conn.connection.info
        if info.get(_DATA_VERSION) != version:
            info[_DATA_VERSION] = version
            self.changed()
        return self._generation


#: One per process: every engine's commits drop it (SQLite engines are usually one per file).
TOTALS = CountCache()


@event.listens_for(Engine, "commit")
def _on_commit(conn: Connection) -> None:
    # Fired just before the commit itself: a total counted meanwhile by another thread is
    # stored under the new generation. What drops it is the next data_version check: the
    # other connections see this commit's new value, and this one (whose own commits do not
    # change its data_version) is marked unseen.
    TOTALS.changed()
    if not conn.closed:
        conn.connection.info.pop(_DATA_VERSION, None)
