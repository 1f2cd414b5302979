"""One SQLite driver connection per engine held open for lookups and lists, without
SQLAlchemy around.

A lookup by id is one indexed read of a few microseconds; checking a connection out of the
pool and executing through SQLAlchemy's `Connection` (events, the autobegun transaction, its
rollback on return) cost several times that. The lookups of the API run on the event loop
on SQLite (api/fast_reads.py), one at a time: they share one connection, taken from the
engine's pool once (so it has the engine's connect-time PRAGMAs) and kept until the engine
is disposed, and run a statement compiled once. A lookup that finds the connection busy
(another thread's) or failing gets `None` and goes through the pool as before, so errors
still surface as SQLAlchemy's. A read outside a transaction sees every commit made before it
(the driver begins none for a SELECT), as a pooled connection's does.

Lists whose statements are compiled once per shape (store/shaped.py) run here too
(`OrderRepository.find_held`): the pool's checkout and SQLAlchemy's execution were ~150 µs of a
~950 µs list of 20 customers' orders (docs/performance.md, "Read API"). Their SQL runs on the
driver alone, so SQLAlchemy's events do not see it; SQLite's trace callback does.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from typing import Any, TypeVar

from sqlalchemy import Engine, Select, event
from sqlalchemy.sql.elements import ColumnElement

from orderhub.store import budget
from orderhub.store.encoded import encode

T = TypeVar("T")


class Held:
    """The engine's held driver connection, its lock, and the statements compiled for it."""

    def __init__(self, engine: Engine) -> None:
        self.lock = threading.Lock()
        self.pooled = engine.raw_connection()
        driver = self.pooled.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        self.driver = driver
        #: Compiled statements: their SQL, their parameters' names in order and the values
        #: bound in the statement itself (a separator, a literal).
        self.compiled: dict[int, tuple[str, list[str], dict[str, Any], Select[Any]]] = {}

    def parameters(
        self, stmt: Select[Any], engine: Engine, given: Mapping[str, Any]
    ) -> tuple[str, list[Any]]:
        """The statement's SQL and its positional parameters."""
        found = self.compiled.get(id(stmt))
        if found is None:
            # Postcompile parameters (the tags' separator) rendered in the SQL: the given
            # ones stand in for the compilation and stay parameters.
            compiled = stmt.params(given).compile(
                dialect=engine.dialect, compile_kwargs={"render_postcompile": True}
            )
            # Values go to the driver as given: only for statements whose parameters need
            # no conversion (integers and text).
            assert not compiled._bind_processors, compiled._bind_processors
            names = list(compiled.positiontup or ())
            bound = {name: bind.effective_value for name, bind in compiled.binds.items()}
            found = self.compiled[id(stmt)] = (compiled.string, names, bound, stmt)
        sql, names, bound, _ = found  # the statement kept in it: its id stays its own
        return sql, [given[name] if name in given else bound[name] for name in names]

    def close(self) -> None:
        with suppress(Exception):
            self.pooled.close()


_HELD: dict[Engine, Held] = {}
_MAKING = threading.Lock()


def held_rows(
    engine: Engine,
    stmt: Select[Any],
    columns: Sequence[ColumnElement[Any]],
    params: Mapping[str, Any],
) -> list[dict[str, Any]] | None:
    """The statement's rows, encoded (store/encoded.py), read on the engine's held
    connection; None when it cannot be used now (not SQLite, busy, failing)."""
    raw = on_held(
        engine, lambda held: held.driver.execute(*held.parameters(stmt, engine, params)).fetchall()
    )
    return None if raw is None else encode(raw, columns, engine.dialect)


def on_held(engine: Engine, work: Callable[[Held], T]) -> T | None:
    """`work` done on the engine's held connection, or None when it cannot be used now (not
    SQLite, busy, failing: the caller then goes through the pool, where errors surface as
    SQLAlchemy's). A statement interrupted by its call's budget (store/budget.py) is raised
    as it is: the connection is fine, and the caller asks again elsewhere."""
    if engine.dialect.name != "sqlite":
        return None
    held = _HELD.get(engine) or _make(engine)
    if held is None or not held.lock.acquire(blocking=False):
        return None
    try:
        return work(held)
    except sqlite3.Error as exc:
        if budget.ran_over(exc):
            raise
    finally:
        held.lock.release()
    _drop(engine)
    return None


def _make(engine: Engine) -> Held | None:
    with _MAKING:
        held = _HELD.get(engine)
        if held is None:
            try:
                held = _HELD[engine] = Held(engine)
            except Exception:  # the pool's own path reports it
                return None
        return held


def _drop(engine: Engine) -> None:
    with _MAKING:
        held = _HELD.pop(engine, None)
    if held is not None:
        with held.lock:  # not while a lookup reads on it
            held.close()


@event.listens_for(Engine, "engine_disposed")
def _on_dispose(engine: Engine) -> None:
    _drop(engine)
