"""The MALL sandbox's orders: generated canonical orders, reshaped to MALL's rules, written as
MALL JSON by the sandbox's own code (`sandbox_payload`), never by the hub's codec.

Deterministic: the same seed gives the same orders (and the same ids, external ids, MALL
Delivery flags, billing addresses).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from orderhub.channels.mall.sandbox_payload import PRAGUE, mall_payload, mall_time
from orderhub.channels.mall.sandbox_store import Payload
from orderhub.channels.sandbox_life import SampleOrders, placed_now
from orderhub.domain import Order, Status

__all__ = ["ORDERS", "SHIP_DAYS", "arrival", "mall_time", "to_payload"]

#: Days between an order becoming open and its ship date.
SHIP_DAYS = 2

#: Canonical statuses MALL has no word for: dropped from a generated order's path.
_NOT_IN_MALL = frozenset({Status.BACKORDERED, Status.RETURNING})


def arrival(order: Order, seed: int, now: datetime) -> Payload:
    """A generated order placed just now: blocked until paid, or open (COD and test orders)."""
    status = Status.OPEN if _starts_open(order) else Status.PENDING
    fresh = placed_now(
        order,
        status,
        now,
        confirmed=False,
        delivered_at=None,
        ship_date=_ship_date(now) if status is Status.OPEN else None,
        tracking_number=None,
        tracking_url=None,
    )
    return to_payload(fresh, seed)


def to_payload(order: Order, seed: int) -> Payload:
    """MALL JSON for a MALL-shaped order, with MALL's own fields (UUID, purchase, mdp)."""
    return mall_payload(order, seed)


def as_mall(order: Order) -> Order:
    """Reshape a generated order to what MALL can show.

    Statuses MALL lacks leave the path (backordered, returning; failed becomes cancelled), and
    COD and test orders never pass through blocked (seed 000: they start in open).
    """
    history = [
        replace(change, status=Status.CANCELLED) if change.status is Status.FAILED else change
        for change in order.status_history
        if change.status not in _NOT_IN_MALL
    ]
    if _starts_open(order) and history[0].status is Status.PENDING:
        if len(history) > 1 and history[1].status is Status.OPEN:
            history = history[1:]
        else:
            history = [replace(history[0], status=Status.OPEN), *history[1:]]
    last = history[-1]
    blocked = last.status is Status.PENDING
    return replace(
        order,
        status=last.status,
        status_history=history,
        created_at=history[0].at,
        updated_at=last.at,
        delivered_at=last.at if last.status is Status.DELIVERED else None,
        confirmed=order.confirmed and not blocked,
        ship_date=None if blocked else order.ship_date or _ship_date(history[0].at),
    )


def _starts_open(order: Order) -> bool:
    return order.cod is not None or order.test


def _ship_date(opened: datetime) -> date:
    return (opened.astimezone(PRAGUE) + timedelta(days=SHIP_DAYS)).date()


#: The sandbox's orders: those of the sample account mall-cz (ids above 2**32), reshaped to
#: MALL's rules.
ORDERS = SampleOrders("mall-cz", to_payload, as_mall)
