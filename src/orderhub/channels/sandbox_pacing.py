"""What sandboxes do over time: a daily quota, batched webhooks, a clock whose timestamps never
repeat, and a background ticker. Re-exported by `orderhub.channels.sandbox_kit`."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

# --- the daily quota ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuotaState:
    limit: int
    remaining: int
    #: Seconds until the quota resets (the next midnight UTC).
    reset: int
    allowed: bool

    def headers(self) -> list[tuple[bytes, bytes]]:
        values = {"limit": self.limit, "remaining": self.remaining, "reset": self.reset}
        headers = [(f"x-ratelimit-{k}".encode(), str(v).encode()) for k, v in values.items()]
        if not self.allowed:
            headers.append((b"retry-after", str(self.reset).encode()))
        return headers


class DailyQuota:
    """A request budget per endpoint group per UTC day."""

    def __init__(self, limit: int, now: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.limit = limit
        self._now = now
        self._day = now().date()
        self._used: Counter[str] = Counter()
        self._lock = threading.Lock()

    def take(self, group: str) -> QuotaState:
        """Spend one request of the group's budget, if any is left."""
        with self._lock:
            self._roll()
            allowed = self._used[group] < self.limit
            if allowed:
                self._used[group] += 1
            return self._state(group, allowed)

    def peek(self, group: str) -> QuotaState:
        with self._lock:
            self._roll()
            return self._state(group, True)

    def reset(self) -> None:
        with self._lock:
            self._used.clear()

    def used(self) -> dict[str, int]:
        with self._lock:
            return dict(self._used)

    def _roll(self) -> None:
        if self._now().date() != self._day:
            self._day = self._now().date()
            self._used.clear()

    def _state(self, group: str, allowed: bool) -> QuotaState:
        now = self._now()
        midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
        reset = max(1, int((midnight - now).total_seconds()))
        return QuotaState(self.limit, max(0, self.limit - self._used[group]), reset, allowed)


# --- webhooks -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    at: datetime
    ids: list[int]
    status: int | None
    error: str | None = None


def post_json(url: str, ids: list[int]) -> int:
    return httpx.post(url, json=ids, timeout=10.0).status_code


class WebhookBatcher:
    """Collects changed order ids and POSTs them as one JSON array, at most once per interval.

    The first change after a delivery opens a window; when it has lasted `min_interval`
    seconds, every id collected meanwhile goes out in one request. A failed delivery keeps
    its ids for the next window. `flush()` delivers at once (for tests and the demo).
    """

    def __init__(
        self,
        url: str,
        min_interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        post: Callable[[str, list[int]], int] = post_json,
    ) -> None:
        self.url = url
        self.min_interval = min_interval
        self.log: list[WebhookDelivery] = []
        self._clock = clock
        self._post = post
        self._pending: dict[int, None] = {}
        self._opened: float | None = None
        self._lock = threading.Lock()

    @property
    def pending(self) -> list[int]:
        with self._lock:
            return list(self._pending)

    def notify(self, ids: Iterable[int]) -> None:
        with self._lock:
            for order_id in ids:
                self._pending[order_id] = None
            if self._pending and self._opened is None:
                self._opened = self._clock()

    def tick(self) -> list[int]:
        """Deliver if the window has lasted min_interval; return the ids sent."""
        with self._lock:
            due = self._opened is not None and self._clock() - self._opened >= self.min_interval
        return self.flush() if due else []

    def flush(self) -> list[int]:
        """Deliver every pending id now, in one request; return the ids sent."""
        with self._lock:
            ids, self._pending = list(self._pending), {}
            self._opened = None
        if not ids:
            return []
        try:
            status: int | None = self._post(self.url, ids)
            error = None if status is not None and status < 300 else f"HTTP {status}"
        except httpx.HTTPError as exc:
            status, error = None, f"{type(exc).__name__}: {exc}"
        self.log.append(WebhookDelivery(datetime.now(UTC), ids, status, error))
        if error is not None:
            self.notify(ids)  # kept for the next window
            return []
        return ids


# --- time and background work ---------------------------------------------------------------


class StrictClock:
    """Real UTC time to the second, but always at least one second after the previous reading,
    so two changes never share a timestamp (clients that keep "only if newer" see both).

    `skew` shifts every reading off real time (negative: the channel's clock runs behind)."""

    def __init__(self, floor: datetime | None = None, skew: timedelta = timedelta(0)) -> None:
        self._last = floor
        self.skew = skew
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            now = (datetime.now(UTC) + self.skew).replace(microsecond=0)
            if self._last is not None and now <= self._last:
                now = self._last + timedelta(seconds=1)
            self._last = now
            return now


class Ticker:
    """Calls a function every `interval` seconds in a daemon thread until stopped."""

    def __init__(self, interval: float, action: Callable[[], object]) -> None:
        self.interval = interval
        self._action = action
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Ticker:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._action()
            except Exception:  # a background step that fails must not stop the next ones
                logging.getLogger(__name__).exception("sandbox background step failed")
