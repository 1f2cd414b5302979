"""Order life in the MALL sandbox: what MALL and customers do to orders while the hub watches.

Each step, deterministically from the seed and the step number: a new order arrives; a blocked
order is paid (open) or expires (cancelled); sometimes a customer cancels an open order; MALL
Delivery hands over one `mdp` order (shipping -> shipped) and delivers one (shipped ->
delivered). Every change stamps the new status's timestamp and makes the order unconfirmed
(seed 000).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_

from orderhub.channels.mall.sandbox_delivery import add_consignment_step
from orderhub.channels.mall.sandbox_orders import ORDERS, SHIP_DAYS, arrival, mall_time
from orderhub.channels.mall.sandbox_payload import PRAGUE
from orderhub.channels.mall.sandbox_store import COLUMNS, MallOrderStore, Payload
from orderhub.channels.sandbox_kit import LifeAction, named_moves
from orderhub.channels.sandbox_life import OrderLife

#: Chance per step that a blocked order is paid rather than left to expire.
PAID_SHARE = 0.7
#: Chance per step that a customer cancels one open order.
CANCEL_SHARE = 0.3


class MallLife(OrderLife):
    source = ORDERS
    store: MallOrderStore

    def _step_moves(self, rng: random.Random, changed: list[int]) -> None:
        changed += self._move(rng, "blocked", self._pay_or_expire(rng))
        if rng.random() < CANCEL_SHARE:
            changed += self._move(rng, "open", _to("cancelled"))
        changed += self._move(rng, "shipping", _to("shipped", _mdp_tracking), mdp=True)
        changed += self._move(rng, "shipped", _to("delivered", _delivered), mdp=True)

    def actions(self) -> dict[str, LifeAction]:
        return named_moves(self._arrive, self._move, {  # status, change, MALL Delivery's only
            "pay": ("blocked", _to("open", _ship_date), False),
            "expire": ("blocked", _to("cancelled"), False),
            "cancel": ("open", _to("cancelled"), False),
            "ship": ("shipping", _to("shipped", _mdp_tracking), True),
            "deliver": ("shipped", _to("delivered", _delivered), True),
        })  # fmt: skip

    def _arrive(self) -> int:
        payload = arrival(next(self._arrivals), self.seed, self.clock.now())
        self.store.insert([payload])
        return int(payload["id"])

    def _pay_or_expire(self, rng: random.Random) -> Change:
        return _to("open", _ship_date) if rng.random() < PAID_SHARE else _to("cancelled")

    def _move(
        self, rng: random.Random, status: str, change: Change, mdp: bool = False
    ) -> list[int]:
        """Apply change to one order, picked at random, that is in status (and mdp if asked)."""
        where = COLUMNS["status"] == status
        if mdp:
            where = and_(where, COLUMNS["mdp"].is_(True))
        candidates = self.store.ids(where)
        if not candidates:
            return []
        payload = self.store.get(candidates[int(rng.random() * len(candidates))])
        assert payload is not None  # picked from the table under its lock
        change(payload, self.clock.now())
        self.store.save(payload)
        return [int(payload["id"])]


Change = Callable[[Payload, datetime], None]
Detail = Callable[[Payload, datetime], dict[str, Any]]


def _to(status: str, *details: Detail) -> Change:
    """A change MALL makes: the new status and its timestamp, unconfirmed again, plus details."""

    def change(payload: Payload, at: datetime) -> None:
        payload["status"] = status
        payload[status] = mall_time(at)
        payload["confirmed"] = False
        for detail in details:
            payload.update(detail(payload, at))

    return change


def _ship_date(payload: Payload, at: datetime) -> dict[str, Any]:
    return {"ship_date": (at.astimezone(PRAGUE) + timedelta(days=SHIP_DAYS)).date().isoformat()}


def _mdp_tracking(payload: Payload, at: datetime) -> dict[str, Any]:
    """MALL Delivery's tracking, and its parcel: created when the order went to shipping."""
    number = f"MDP{payload['id']}"
    payload.update(tracking_number=number, tracking_url=f"https://tracking.mall.example/{number}")
    add_consignment_step(payload, "CREATED", payload.get("shipping") or mall_time(at))
    add_consignment_step(payload, "RECEIVED", mall_time(at))
    return {}


def _delivered(payload: Payload, at: datetime) -> dict[str, Any]:
    """Delivered at the first attempt; the parcel's last steps."""
    add_consignment_step(payload, "DELIVERING", payload.get("shipped") or mall_time(at))
    add_consignment_step(payload, "DELIVERED", mall_time(at))
    return {"delivered_at": mall_time(at), "first_delivery_attempt": mall_time(at)}
