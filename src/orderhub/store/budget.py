"""A time budget for the SQLite statements of one call: past it, SQLite interrupts them.

The read API answers cheap SQLite lists on the event loop, where a hop to a worker thread and
back cost more than many a list itself (docs/performance.md, "Read API"); a list that turns out
to be slow (a deep offset page, a total not yet counted) must not hold the loop. So the loop
tries the list `within` a budget of a few milliseconds of its thread's CPU time (a busy machine
slows the loop's other requests as much whatever runs; what a read costs decides): every SQLite
connection of the process has a progress handler that interrupts its statement once the budget
of the calling context has run out, and the caller, told by `ran_over`, asks again in a worker
thread with no budget.
The reads it interrupts change nothing; waits that are not SQL (a count under way in another
thread) give up at the budget too (`remaining`).

The budget lives in a context variable: it follows the call on its own thread only, and
`within` resets it before returning, so the worker thread of the second try never inherits it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

#: SQLite virtual machine steps between two looks at the clock (~0.1 ms of a typical read).
CHECK_EVERY = 10_000

_DEADLINE: ContextVar[float | None] = ContextVar("orderhub_sqlite_deadline", default=None)


class OverBudget(Exception):
    """A wait that is not SQL outlasted the budget of the call."""


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """Interrupt this context's SQLite statements once its thread has spent `seconds` of CPU."""
    token = _DEADLINE.set(time.thread_time() + seconds)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def remaining() -> float | None:
    """Seconds left of this context's budget (at least 0), or None where it has none."""
    deadline = _DEADLINE.get()
    return None if deadline is None else max(deadline - time.thread_time(), 0.0)


def ran_over(exc: BaseException) -> bool:
    """Whether `exc` is a statement interrupted by the budget, or a wait that outlasted it."""
    if isinstance(exc, OverBudget):
        return True
    cause = getattr(exc, "orig", exc)  # SQLAlchemy wraps the driver's error
    return isinstance(cause, sqlite3.OperationalError) and str(cause) == "interrupted"


def watch(dbapi_connection: Any) -> None:
    """Give a new SQLite connection the progress handler that enforces budgets."""
    dbapi_connection.set_progress_handler(_out_of_time, CHECK_EVERY)


def _out_of_time() -> int:
    deadline = _DEADLINE.get()
    return 1 if deadline is not None and time.thread_time() > deadline else 0
