"""What every channel sandbox's state shares: order life, the faults in force, the traffic log,
background tickers.

A channel's sandbox state (`<channel>/sandbox_state.py`) subclasses `SandboxState`: its
`__init__(orders, seed, faults, <its own options>)` fills its store with the starting orders and
calls `_set_up` (which sets `store`, `life`, `clock`, `faults`, `traffic` and `_tickers`); it
implements `put_order` and adds its own API calls; the hooks (`_after_life`, `_more_stats`,
`_background`) carry what differs. `sandbox_app.app_factory` builds it for `create_app`. Its
life's `actions()` names each move of a step (`create_orders`, `pay`, `cancel`, `deliver`, and
the channel's own), which `run_life` (the control endpoint, scenarios) runs by count.

Test controls, for the cases order life does not make on its own (docs/sync.md, "Overlap"):
`put_order` commits an order exactly as given, timestamps included (a late commit, a tie);
`set_clock_skew` makes the channel stamp its changes off the hub's clock.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from orderhub.channels.sandbox_kit import (
    FaultSpec,
    LifeAction,
    LiveFaults,
    RequestRecord,
    StrictClock,
    Ticker,
    Traffic,
)
from orderhub.domain.clock import SYSTEM_CLOCK, Clock

#: The name `run_life` gives whole steps of order life (every move, at its chance).
STEPS = "steps"


@dataclass(slots=True)
class LifeRun:
    """What `run_life` did: the ids created or changed (each once), and per name how many
    steps ran or how many orders each move changed (fewer than asked when no order fits)."""

    changed: list[int] = field(default_factory=list)
    done: dict[str, int] = field(default_factory=dict)

    def json(self) -> dict[str, Any]:
        return {"changed": self.changed, "done": self.done}


class SandboxState:
    # The channel's own types; what this class uses of them: `store.count()`,
    # `life.step() -> list[int]`, `life.actions()`, `life.seed`, `life.steps`, `store.lock`
    # and `clock.skew` (a StrictClock).
    store: Any
    life: Any
    clock: Any
    traffic: Traffic
    _tickers: list[Ticker]
    #: What fault episodes and scenarios are timed on (`use_clock`).
    control_clock: Clock = SYSTEM_CLOCK
    live_faults: LiveFaults

    @property
    def faults(self) -> FaultSpec:
        """The fault spec in force now (`live_faults` changes it while the sandbox runs)."""
        return self.live_faults.spec

    @faults.setter
    def faults(self, spec: FaultSpec) -> None:
        self.live_faults = LiveFaults(spec, self.control_clock)

    def _set_up(
        self,
        seed: int,
        faults: FaultSpec | None,
        store: Any,
        latest: datetime | None,
        life: Callable[[Any, int, int, StrictClock], Any],
        orders: int,
    ) -> None:
        """What every sandbox's `__init__` does once `store` holds the `orders` starting orders:
        the faults, a clock that starts after `latest`, order life (`life`: the channel's
        `OrderLife` class), the traffic log."""
        self.seed = seed
        self.faults = faults or FaultSpec()
        self.store = store
        self.clock = StrictClock(latest)
        self.life = life(store, seed, orders, self.clock)
        self.traffic = Traffic()
        self._tickers = []

    def use_clock(self, clock: Clock) -> None:
        """Time fault episodes (and scenarios run on this sandbox) on `clock`."""
        self.control_clock = clock
        self.live_faults.clock = clock

    def step_life(self, n: int = 1) -> list[int]:
        """Advance order life n steps; the ids created or changed, each once."""
        changed: list[int] = []
        for _ in range(n):
            changed += self.life.step()
        self._after_life(changed)
        return list(dict.fromkeys(changed))

    def life_actions(self) -> list[str]:
        """The names `run_life` takes: whole steps, then each move of the channel's life."""
        return [STEPS, *self.life.actions()]

    def run_life(self, counts: Iterable[tuple[str, int]]) -> LifeRun:
        """Run, in the order given, whole steps (`steps`) or single moves by name, each `count`
        times: a move changes one order a time, picked at random (reproducibly: the seed, the
        move's name and how many moves this sandbox made). ValueError for an unknown name."""
        actions: dict[str, LifeAction] = self.life.actions()
        run = LifeRun()
        for name, count in counts:
            if name == STEPS:
                run.changed += self.step_life(count)
                run.done[STEPS] = run.done.get(STEPS, 0) + count
                continue
            if name not in actions:
                raise ValueError(f"{name}: not a life action ({', '.join(self.life_actions())})")
            changed = [self._move(name, actions[name]) for _ in range(count)]
            run.done[name] = run.done.get(name, 0) + sum(1 for ids in changed if ids)
            run.changed += [i for ids in changed for i in ids]
            self._after_life([i for ids in changed for i in ids])
        self._moves_done.update(run.done)
        run.changed = list(dict.fromkeys(run.changed))
        return run

    def _move(self, name: str, action: LifeAction) -> list[int]:
        rng = random.Random(f"move:{self.life.seed}:{name}:{next(self._move_serial)}")
        with self.store.lock:
            return action(rng)

    @cached_property
    def _move_serial(self) -> itertools.count[int]:
        return itertools.count()

    @cached_property
    def _moves_done(self) -> Counter[str]:
        return Counter()

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
            "life_done": dict(self._moves_done),
            "fault_spec": self.live_faults.spec.text(),
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
