"""What every channel sandbox's state shares: order life, the traffic log, background tickers.

A channel's sandbox state (`<channel>/sandbox_state.py`) subclasses `SandboxState`, sets
`store`, `life`, `clock`, `traffic` and `_tickers` in its `__init__`, implements `put_order`,
and adds its own API calls; the hooks (`_after_life`, `_more_stats`, `_background`) carry what
differs.

Test controls, for the cases order life does not make on its own (docs/sync.md, "Overlap"):
`put_order` commits an order exactly as given, timestamps included (a late commit, a tie);
`set_clock_skew` makes the channel stamp its changes off the hub's clock.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from orderhub.channels.sandbox_kit import RequestRecord, Ticker, Traffic


class SandboxState:
    # The channel's own types; what this class uses of them: `store.count()`,
    # `life.step() -> list[int]`, `life.steps` and `clock.skew` (a StrictClock).
    store: Any
    life: Any
    clock: Any
    traffic: Traffic
    _tickers: list[Ticker]

    def step_life(self, n: int = 1) -> list[int]:
        """Advance order life n steps; the ids created or changed, each once."""
        changed: list[int] = []
        for _ in range(n):
            changed += self.life.step()
        self._after_life(changed)
        return list(dict.fromkeys(changed))

    def put_order(self, payload: dict[str, Any]) -> int:
        """Commit an order exactly as given, in the channel's own JSON: a new one, or the new
        state of the order with its id. Its timestamps are the payload's, so a test can commit
        an order stamped in the past (a late commit) or sharing another's timestamp. No webhook
        announces it. Returns the order's id."""
        raise NotImplementedError

    def set_clock_skew(self, seconds: float) -> None:
        """Stamp every later change `seconds` off real time (negative: the channel's clock runs
        behind the hub's). The clock still never repeats or goes back."""
        self.clock.skew = timedelta(seconds=seconds)

    @property
    def request_count(self) -> int:
        return self.traffic.request_count

    @property
    def requests_by_path(self) -> Counter[str]:
        """Requests per "METHOD /path" (control paths excluded)."""
        return self.traffic.requests_by_path

    @property
    def fault_log(self) -> list[RequestRecord]:
        """Every injected fault: kind, method, path, time and (429) the Retry-After given."""
        return self.traffic.fault_log

    @property
    def requests(self) -> list[RequestRecord]:
        return list(self.traffic.requests)

    def stats(self) -> dict[str, Any]:
        return {
            **self.traffic.summary(),
            "orders": self.store.count(),
            "life_steps": self.life.steps,
            **self._more_stats(),
        }

    def start(self, life_interval: float | None = None) -> None:
        """Start the channel's background work and, if asked, order life every interval."""
        for interval, action in self._background():
            self._tickers.append(Ticker(interval, action).start())
        if life_interval:
            self._tickers.append(Ticker(life_interval, self.step_life).start())

    def close(self) -> None:
        for ticker in self._tickers:
            ticker.stop()
        self._tickers.clear()

    def _after_life(self, changed: list[int]) -> None:
        """What a channel does with the ids order life changed (MALL: its webhook)."""

    def _more_stats(self) -> dict[str, Any]:
        return {}

    def _background(self) -> list[tuple[float, Callable[[], object]]]:
        return []
