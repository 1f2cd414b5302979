"""The one clock the services read time from: the system's, or one a test sets and advances.

Everything that schedules (outbox retries and leases, the quota's day, token expiry, sync
stamps) asks a `Clock` instead of calling `datetime.now` or `time.monotonic` itself, so a test
can walk through three days of retries without waiting.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, zoned (UTC)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for intervals, not dates)."""
        ...


class SystemClock:
    """The machine's clock: what production runs on."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


SYSTEM_CLOCK: Clock = SystemClock()


class ManualClock:
    """A clock that moves only when told (`set`, `advance`): for tests. Thread-safe."""

    def __init__(self, start: datetime) -> None:
        self._now = _zoned(start)
        self._monotonic = 1_000.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._monotonic

    def advance(self, by: timedelta | float) -> datetime:
        """Move forward by a timedelta or a number of seconds; the new time."""
        step = by if isinstance(by, timedelta) else timedelta(seconds=by)
        if step < timedelta(0):
            raise ValueError(f"a clock does not go back: advance({by!r})")
        with self._lock:
            self._now += step
            self._monotonic += step.total_seconds()
            return self._now

    def set(self, at: datetime) -> datetime:
        """Jump forward to `at` (never back)."""
        return self.advance(_zoned(at) - self.now())


def _zoned(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"a zoned datetime is required, got {at!r}")
    return at.astimezone(UTC)
