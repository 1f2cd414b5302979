"""The CDON sandbox's order store, and order life: what customers, CDON and the merchant's
warehouse do to orders while the hub watches.

Each life step, deterministically from the seed and the step number: a new order arrives; a
customer pays an order awaiting payment (50 %); a customer cancels a whole open order (30 %);
the warehouse delivers one row of an open order (40 %); a customer cancels one row of an open
order with several (30 %). Every change stamps LastModifiedDateUtc from a clock that never
repeats a second.
"""

from __future__ import annotations

import copy
import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from orderhub.channels.cdon.sandbox_orders import ORDERS, placed
from orderhub.channels.cdon.sandbox_rows import (
    Payload,
    cancel,
    deliver,
    goods,
    open_quantity,
    open_requests,
    pay,
)
from orderhub.channels.sandbox_kit import LifeAction, named_moves
from orderhub.channels.sandbox_life import OrderLife

PAY_SHARE = 0.5
CANCEL_ORDER_SHARE = 0.3
DELIVER_ROW_SHARE = 0.4
CANCEL_ROW_SHARE = 0.3
#: Far enough to never run out: the generator is lazy.

Predicate = Callable[[Payload], bool]


class CdonOrderStore:
    """The orders by OrderId, and when each was last modified. Thread-safe (`lock`)."""

    def __init__(self, payloads: list[Payload]) -> None:
        self.lock = threading.RLock()
        self._orders: dict[int, Payload] = {}
        self._modified: dict[int, datetime] = {}
        for payload in payloads:
            self.save(payload)

    def save(self, payload: Payload) -> None:
        details = payload["OrderDetails"]
        with self.lock:
            self._orders[int(details["OrderId"])] = payload
            self._modified[int(details["OrderId"])] = _modified(details["LastModifiedDateUtc"])

    def get(self, order_id: int) -> Payload | None:
        """A copy of the order (changes go through `save`)."""
        with self.lock:
            payload = self._orders.get(order_id)
            return None if payload is None else copy.deepcopy(payload)

    def by_modification(
        self, keep: Callable[[Payload, datetime], bool], skip: int, take: int
    ) -> list[Payload]:
        """Orders skip.. skip+take of those keep() accepts, by (LastModifiedDateUtc, OrderId)."""
        with self.lock:
            found = sorted((at, i) for i, at in self._modified.items() if keep(self._orders[i], at))
            return [copy.deepcopy(self._orders[i]) for _, i in found[skip : skip + take]]

    def ids(self, where: Predicate) -> list[int]:
        with self.lock:
            return sorted(i for i, payload in self._orders.items() if where(payload))

    def all(self) -> list[Payload]:
        with self.lock:
            return [copy.deepcopy(self._orders[i]) for i in sorted(self._orders)]

    def count(self) -> int:
        with self.lock:
            return len(self._orders)

    def latest(self) -> datetime | None:
        with self.lock:
            return max(self._modified.values(), default=None)


class CdonLife(OrderLife):
    rng_name = "cdon-life"
    source = ORDERS
    store: CdonOrderStore

    def _step_moves(self, rng: random.Random, changed: list[int]) -> None:
        if rng.random() < PAY_SHARE:
            changed += self._change(rng, _awaiting_payment, pay)
        if rng.random() < CANCEL_ORDER_SHARE:
            changed += self._change(rng, _untouched, _cancel_order)
        if rng.random() < DELIVER_ROW_SHARE:
            changed += self._change(rng, _pending, _deliver_a_row)
        if rng.random() < CANCEL_ROW_SHARE:
            changed += self._change(rng, _several_open_rows, _cancel_a_row)

    def actions(self) -> dict[str, LifeAction]:
        return named_moves(self._arrive, self._change, {  # which orders, what happens to one
            "pay": (_awaiting_payment, pay), "cancel": (_untouched, _cancel_order),
            "deliver": (_pending, _deliver_a_row),
            "cancel_row": (_several_open_rows, _cancel_a_row),
        })  # fmt: skip

    def _arrive(self) -> int:
        payload = placed(next(self._arrivals), self.clock.now())
        self.store.save(payload)
        return int(payload["OrderDetails"]["OrderId"])

    def _change(
        self, rng: random.Random, where: Predicate, change: Callable[[Payload, datetime], None]
    ) -> list[int]:
        candidates = self.store.ids(where)
        if not candidates:
            return []
        payload = self.store.get(candidates[int(rng.random() * len(candidates))])
        assert payload is not None  # picked under the store's lock
        change(payload, self.clock.now())
        self.store.save(payload)
        return [int(payload["OrderDetails"]["OrderId"])]


def _modified(text: str) -> datetime:
    """The sandbox's own times (`sandbox_payload.cdon_time`), read back to the microsecond."""
    return datetime.strptime(text[:26], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC)


def _rows(payload: Payload) -> list[Payload]:
    rows: list[Payload] = payload["OrderDetails"]["OrderRows"]
    return rows


def _awaiting_payment(payload: Payload) -> bool:
    return bool(payload["OrderDetails"]["PaymentStatus"] == "AwaitingPayment")


def _pending(payload: Payload) -> bool:
    return any(goods(row) and open_quantity(row) > 0 for row in _rows(payload))


def _untouched(payload: Payload) -> bool:
    return all(row["DeliveredQuantity"] == 0 for row in _rows(payload)) and _pending(payload)


def _several_open_rows(payload: Payload) -> bool:
    return sum(goods(row) and open_quantity(row) > 0 for row in _rows(payload)) > 1


def _cancel_order(payload: Payload, at: datetime) -> None:
    cancel(payload, open_requests(_rows(payload), kinds=lambda row: True), at)


def _deliver_a_row(payload: Payload, at: datetime) -> None:
    """The first open goods row, with the Postage row when it is the last one."""
    package = f"PKG{payload['OrderDetails']['OrderId']}"
    first, *others = open_requests(_rows(payload), package)
    postage = [] if others else open_requests(_rows(payload), package, lambda row: not goods(row))
    deliver(payload, [first, *postage], at)


def _cancel_a_row(payload: Payload, at: datetime) -> None:
    first = open_requests(_rows(payload))[0]
    cancel(payload, [first], at)
