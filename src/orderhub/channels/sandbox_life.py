"""What every channel sandbox's order life shares: the step loop.

A channel's life (`<channel>/sandbox_life.py`) subclasses `OrderLife`, names its random stream
(`rng_name`), and fills in where its new orders come from (`arrivals`), how one arrives
(`_arrive`), the moves of a step (`_step_moves`) and its moves by name (`actions`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from orderhub.channels.sandbox_kit import LifeAction, StrictClock
from orderhub.domain import Order

#: Far enough to never run out: a channel's order generator is lazy.
ENDLESS = 10**12


class OrderLife:
    """Each step, deterministically from the seed and the step number: a new order arrives,
    then the channel's moves run on the random stream of that step, under the store's lock."""

    #: Names each step's random stream (`<rng_name>:<seed>:<step>`): the same seed, same life.
    rng_name = "life"

    def __init__(self, store: Any, seed: int, generated_count: int, clock: StrictClock) -> None:
        self.store = store
        self.seed = seed
        self.clock = clock
        self.steps = 0
        self._arrivals = self.arrivals(seed, generated_count)

    def step(self) -> list[int]:
        """Advance one step; return the ids of the orders created or changed."""
        rng = random.Random(f"{self.rng_name}:{self.seed}:{self.steps}")
        self.steps += 1
        with self.store.lock:
            changed = [self._arrive()]
            self._step_moves(rng, changed)
        return changed

    def arrivals(self, seed: int, start: int) -> Iterator[Any]:
        """The orders that arrive later, after the `start` generated up front."""
        raise NotImplementedError

    def actions(self) -> dict[str, LifeAction]:
        """Each move of a step on its own, on one order (the control endpoint, scenarios)."""
        raise NotImplementedError

    def _arrive(self) -> int:
        """Commit the next arrival; its id."""
        raise NotImplementedError

    def _step_moves(self, rng: random.Random, changed: list[int]) -> None:
        """The moves of one step after the arrival, adding the ids they change to `changed`."""
        raise NotImplementedError


def starting_orders(
    orders: Iterable[Order], to_payload: Callable[[Order], dict[str, Any]]
) -> tuple[list[dict[str, Any]], datetime | None]:
    """A sandbox's starting orders as the channel's JSON, and the latest time any carries."""
    generated = list(orders)
    latest = max((order.updated_at for order in generated), default=None)
    return [to_payload(order) for order in generated], latest
