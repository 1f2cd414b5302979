"""Packing slips and pick lists: the orders of a selection read at once, what is left to pick
of each line (ordered - delivered - cancelled), and a pick list's lines summed per SKU."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine

from orderhub.domain import Order
from orderhub.domain.fulfilment import GOODS, open_quantity
from orderhub.domain.order import OrderLine
from orderhub.store import OrderRepository

#: The most orders one pick list takes.
MAX_PICK = 200


@dataclass(frozen=True, slots=True)
class PickLine:
    """A line of a slip: what was ordered and what is left to pick."""

    line: OrderLine
    to_pick: int


@dataclass(slots=True)
class PickTotal:
    """One SKU across the selection: how many to pick, and from which orders."""

    sku: str
    title: str
    quantity: int = 0
    orders: list[tuple[int, int]] = field(default_factory=list)


def pick_lines(order: Order) -> list[PickLine]:
    """The order's goods lines (not postage or fees), with what is left to pick."""
    return [PickLine(line, open_quantity(line)) for line in order.lines if line.type in GOODS]


def pick_orders(engine: Engine, ids: Sequence[int]) -> tuple[list[Order], list[int]]:
    """The orders of `ids` in the order given (each once), and the ids with no order."""
    found: list[Order] = []
    missing: list[int] = []
    with engine.connect() as conn:  # a read: no write lock
        repo = OrderRepository(conn)
        for order_id in dict.fromkeys(ids):
            stored = repo.get(order_id)
            if stored is None:
                missing.append(order_id)
            else:
                found.append(stored.to_order())
    return found, missing


def pick_totals(orders: Sequence[Order]) -> list[PickTotal]:
    """Every SKU left to pick in the selection, summed, by SKU; a line without a SKU is
    listed under its title."""
    totals: dict[str, PickTotal] = {}
    for order in orders:
        assert order.id is not None
        for item in pick_lines(order):
            if item.to_pick <= 0:
                continue
            key = item.line.sku or item.line.name
            total = totals.setdefault(key, PickTotal(key, item.line.name))
            total.quantity += item.to_pick
            total.orders.append((order.id, item.to_pick))
    return [totals[key] for key in sorted(totals)]
