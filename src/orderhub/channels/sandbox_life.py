"""What every channel sandbox's order life shares: where its orders come from and the step loop.

A channel's `sandbox_orders.py` names its `SampleOrders` (its sample account, how a generated
order is reshaped to the channel's rules and written as its JSON); `placed_now` gives an arrival.
A channel's life (`<channel>/sandbox_life.py`) subclasses `OrderLife`, names its random stream
(`rng_name`) and its `SampleOrders` (`source`: the orders that arrive later), and fills in how
one arrives (`_arrive`), the moves of a step (`_step_moves`) and its moves by name (`actions`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, ClassVar

from orderhub.channels.sandbox_kit import LifeAction, StrictClock
from orderhub.domain import Order, Status, StatusChange, StatusSource
from orderhub.domain.samples import ACCOUNTS, generate_orders
from orderhub.domain.samples import Account as SampleAccount

#: Far enough to never run out: a channel's order generator is lazy.
ENDLESS = 10**12
#: Starting orders generated, then inserted, at a time (`SampleOrders.fill`).
BATCH = 10_000
#: A channel's JSON for an order (`to_payload(order, seed)`).
ToPayload = Callable[[Order, int], dict[str, Any]]


def _as_generated(order: Order) -> Order:
    return order


@dataclass(frozen=True)
class SampleOrders:
    """A sandbox's orders: the seed's sample orders of the channel's account (`account_name`, in
    `domain.samples.ACCOUNTS`), each reshaped to the channel's rules (`reshape`) and written as
    its JSON by the sandbox's own writer (`to_payload`, never the hub's codec)."""

    account_name: str
    to_payload: ToPayload
    reshape: Callable[[Order], Order] = _as_generated

    @property
    def account(self) -> SampleAccount:
        return next(account for account in ACCOUNTS if account.name == self.account_name)

    def generated(
        self, count: int, seed: int, start: int = 0, anchor: datetime | None = None
    ) -> Iterator[Order]:
        """Orders number start.. of the seed's order sequence of the account, reshaped; their
        times as `domain.samples.generate_orders` places them for `anchor`."""
        orders = generate_orders(count, seed, start=start, accounts=[self.account], anchor=anchor)
        for order in orders:
            yield self.reshape(order)

    def initial(
        self, count: int, seed: int, anchor: datetime | None = None
    ) -> tuple[list[dict[str, Any]], datetime | None]:
        """The sandbox's starting orders as the channel's JSON (placed in the year before
        `anchor` when given), and the latest time any of them carries."""
        return starting_orders(
            self.generated(count, seed, anchor=anchor), lambda order: self.to_payload(order, seed)
        )

    def fill(
        self,
        insert: Callable[[list[dict[str, Any]]], None],
        count: int,
        seed: int,
        anchor: datetime | None = None,
    ) -> datetime | None:
        """Insert the sandbox's starting orders (as `initial` makes them) BATCH at a time, so
        that a million of them never stand in memory as dicts at once; the latest time any of
        them carries."""
        latest: datetime | None = None
        batch: list[dict[str, Any]] = []
        for order in self.generated(count, seed, anchor=anchor):
            if latest is None or order.updated_at > latest:
                latest = order.updated_at
            batch.append(self.to_payload(order, seed))
            if len(batch) == BATCH:
                insert(batch)
                batch = []
        insert(batch)
        return latest


def placed_now(order: Order, status: Status, now: datetime, **changes: Any) -> Order:
    """A generated order placed just now in `status` (its history that one change), with the
    channel's `changes` besides."""
    history = [StatusChange(status, now, StatusSource.CHANNEL)]
    return replace(
        order, status=status, status_history=history, created_at=now, updated_at=now, **changes
    )


class OrderLife:
    """Each step, deterministically from the seed and the step number: a new order arrives,
    then the channel's moves run on the random stream of that step, under the store's lock."""

    #: Names each step's random stream (`<rng_name>:<seed>:<step>`): the same seed, same life.
    #: MALL's is the default; every later channel names its own.
    rng_name = "life"
    #: Where the orders that arrive come from (after those the sandbox started with).
    source: ClassVar[SampleOrders]

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

    def arrivals(self, seed: int, start: int) -> Iterator[Order]:
        """The orders that arrive later, after the `start` generated up front."""
        return self.source.generated(ENDLESS, seed, start=start)

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
