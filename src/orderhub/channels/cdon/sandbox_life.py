"""The CDON sandbox's order life: what customers, CDON and the merchant's warehouse do to
orders while the hub watches.

Each life step, deterministically from the seed and the step number: a new order arrives; a
customer pays an order awaiting payment (50 %); a customer cancels a whole open order (30 %);
the warehouse delivers one row of an open order (40 %); a customer cancels one row of an open
order with several (30 %). Every change stamps LastModifiedDateUtc from a clock that never
repeats a second.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime

from orderhub.channels.cdon.sandbox_orders import ORDERS, placed
from orderhub.channels.cdon.sandbox_rows import (
    Payload,
    cancel,
    deliver,
    goods,
    open_requests,
    pay,
)
from orderhub.channels.cdon.sandbox_store import C, CdonOrderStore, Predicate
from orderhub.channels.sandbox_kit import LifeAction, named_moves
from orderhub.channels.sandbox_life import OrderLife

PAY_SHARE = 0.5
CANCEL_ORDER_SHARE = 0.3
DELIVER_ROW_SHARE = 0.4
CANCEL_ROW_SHARE = 0.3


class CdonLife(OrderLife):
    rng_name = "cdon-life"
    source = ORDERS
    store: CdonOrderStore

    def _step_moves(self, rng: random.Random, changed: list[int]) -> None:
        if rng.random() < PAY_SHARE:
            changed += self._change(rng, C.awaiting_payment, pay)
        if rng.random() < CANCEL_ORDER_SHARE:
            changed += self._change(rng, C.untouched, _cancel_order)
        if rng.random() < DELIVER_ROW_SHARE:
            changed += self._change(rng, C.pending, _deliver_a_row)
        if rng.random() < CANCEL_ROW_SHARE:
            changed += self._change(rng, C.several_open, _cancel_a_row)

    def actions(self) -> dict[str, LifeAction]:
        return named_moves(self._arrive, self._change, {  # which orders, what happens to one
            "pay": (C.awaiting_payment, pay), "cancel": (C.untouched, _cancel_order),
            "deliver": (C.pending, _deliver_a_row),
            "cancel_row": (C.several_open, _cancel_a_row),
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


def _rows(payload: Payload) -> list[Payload]:
    rows: list[Payload] = payload["OrderDetails"]["OrderRows"]
    return rows


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
