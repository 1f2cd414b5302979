"""Order life in the CS-Cart sandbox: what customers, the payment gateway and the shop's staff
do to orders while the hub watches.

Each step, deterministically from the seed and the step number: a new order is placed
(Incomplete when paid online, Open when paid offline); the gateway answers for an Incomplete
order (Processed) or leaves it waiting; an offline payment arrives (O/E -> P); sometimes a
customer cancels an open order (O -> I); the staff completes a processed order (P -> C); a
customer asks for a return (C -> G) and the staff repays one (G -> H). Every change moves the
order's `updated_at`, the field the list call's `updated_at_from/to` filter on.
"""

from __future__ import annotations

import random
from datetime import datetime

from sqlalchemy import and_

from orderhub.channels.cscart.sandbox_orders import INVOICED, ORDERS, arrival, invoice_id
from orderhub.channels.cscart.sandbox_store import C, CsCartOrderStore, Payload
from orderhub.channels.sandbox_kit import LifeAction, named_moves
from orderhub.channels.sandbox_life import OrderLife

#: (from letter, to letter, chance per step): one order of the letter moves, at that chance.
MOVES: tuple[tuple[str, str, float], ...] = (
    ("N", "P", 0.7),
    ("O", "P", 0.5),
    ("E", "P", 0.3),
    ("O", "I", 0.2),
    ("P", "C", 0.8),
    ("C", "G", 0.1),
    ("G", "H", 0.5),
)


class CsCartLife(OrderLife):
    rng_name = "cscart-life"
    source = ORDERS
    store: CsCartOrderStore

    def _step_moves(self, rng: random.Random, changed: list[int]) -> None:
        for current, new, chance in MOVES:
            if rng.random() < chance:
                changed += self._move(rng, current, new, changed)

    def actions(self) -> dict[str, LifeAction]:
        letters = {"pay": ("NOE", "P"), "cancel": ("O", "I"), "deliver": ("P", "C"),
                   "return": ("C", "G"), "repay": ("G", "H")}  # fmt: skip
        return named_moves(self._arrive, self._move_first, letters)

    def _move_first(self, rng: random.Random, letters: str, new: str) -> list[int]:
        """Move one order of the first of `letters` that has any."""
        return next((ids for letter in letters if (ids := self._move(rng, letter, new, []))), [])

    def _arrive(self) -> int:
        payload = arrival(next(self._arrivals), self.seed, self.clock.now())
        self.store.insert([payload])
        return int(payload["order_id"])

    def _move(self, rng: random.Random, current: str, new: str, done: list[int]) -> list[int]:
        """Move one order in letter `current`, picked at random, to letter `new`; not one this
        step already placed or moved."""
        candidates = self.store.ids(and_(C.status == current, C.order_id.not_in(done)))
        if not candidates:
            return []
        payload = self.store.get(candidates[int(rng.random() * len(candidates))])
        assert payload is not None  # picked from the table under its lock
        set_status(payload, new, self.clock.now())
        self.store.save(payload)
        return [int(payload["order_id"])]


def set_status(payload: Payload, letter: str, at: datetime) -> None:
    """A status change as the shop records it: the letter, `updated_at`, invoice, repayment."""
    payload["status"] = letter
    payload["updated_at"] = unix(at)
    if letter in INVOICED and not payload.get("invoice_id"):
        payload["invoice_id"] = invoice_id(int(payload["order_id"]))
    if letter == "H":
        payload["repaid"] = "1"


def unix(at: datetime) -> str:
    """A time as CS-Cart writes it: Unix seconds, as a string."""
    return str(int(at.timestamp()))
