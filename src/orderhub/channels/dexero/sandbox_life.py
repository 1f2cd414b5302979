"""Order life in the Dexero sandbox: what customers and the merchant's shop do meanwhile.

Each step, deterministically from the seed and the step number: a new order arrives
(`pending`); a pending order is paid (`untreated`); an untreated one is treated; a treated one
completed; sometimes a customer cancels an order not yet treated. Every change stamps the
order's `updated_date`, the timestamp Dexero's time window filters on.
"""

from __future__ import annotations

import random

from orderhub.channels.dexero.sandbox_orders import ORDERS, arrival
from orderhub.channels.dexero.sandbox_payload import UPDATED, dexero_time, offset_of, paid_in_full
from orderhub.channels.dexero.sandbox_store import DexeroStore
from orderhub.channels.sandbox_kit import LifeAction, named_moves
from orderhub.channels.sandbox_life import OrderLife

CANCEL_SHARE = 0.3
#: Each move: from status -> to status.
MOVES = (("pending", "untreated"), ("untreated", "treated"), ("treated", "completed"))


class DexeroLife(OrderLife):
    rng_name = "dexero-life"
    source = ORDERS
    store: DexeroStore

    def _step_moves(self, rng: random.Random, changed: list[int]) -> None:
        for before, after in MOVES:
            changed += self._move(rng, (before,), after)
        if rng.random() < CANCEL_SHARE:
            changed += self._move(rng, ("pending", "untreated"), "cancelled")

    def actions(self) -> dict[str, LifeAction]:
        return named_moves(self._arrive, self._move, {  # from which statuses, to which
            "pay": (("pending",), "untreated"), "treat": (("untreated",), "treated"),
            "deliver": (("treated",), "completed"),
            "cancel": (("pending", "untreated"), "cancelled"),
        })  # fmt: skip

    def _arrive(self) -> int:
        payload = arrival(next(self._arrivals), self.seed, self.clock.now())
        self.store.insert([payload])
        return int(payload["id"])

    def _move(self, rng: random.Random, statuses: tuple[str, ...], status: str) -> list[int]:
        candidates = self.store.ids(statuses)
        if not candidates:
            return []
        payload = self.store.get(candidates[int(rng.random() * len(candidates))])
        assert payload is not None  # picked from the store under its lock
        payload["status"] = status
        payload[UPDATED] = dexero_time(self.clock.now(), offset_of(payload["purchase_date"]))
        if status == "untreated":
            paid_in_full(payload)
        self.store.save(payload)
        return [int(payload["id"])]
