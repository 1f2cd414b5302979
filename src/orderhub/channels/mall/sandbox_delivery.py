"""How a sandbox MALL order travels: delivery method, pickup branch, and the carrier's
consignment history (and Uloženka's own, for orders it carries), in the shapes MALL's official
client reads (`Order`, `Branches`, `ConsignmentStatusHistoryItem`, `ConsignmentStatus`).

Written by the sandbox's own code from a generated order, never by the hub's codec.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from orderhub.domain import Order, Status

#: (delivery_method, delivery_method_id, to a pickup branch): MALL sends the id as a string.
HOME_METHODS = (("pplCz", "21"), ("cpBalik", "15"))
PICKUP_METHODS = (("zasilkovna", "23"), ("ulozenka", "25"))
MDP_METHOD = ("mallDelivery", "20")
PICKUP_SHARE = 0.4
#: Share of pickup orders whose branch MALL moved to a second branch (`branches.overridden`).
OVERRIDDEN_SHARE = 0.1
#: Uloženka's own history of the consignment: (id, name) per consignment status.
ULOZENKA_STEPS = {
    "CREATED": (1, "Zasilka zalozena"),
    "RECEIVED": (2, "Prijata na depo"),
    "DELIVERING": (3, "Na ceste na pobocku"),
    "DELIVERED": (4, "Vydana zakaznikovi"),
    "RETURNING": (5, "Vraci se odesilateli"),
    "RETURNED": (6, "Vracena odesilateli"),
    "LOST": (7, "Ztracena"),
}


def delivery_draws(rng: random.Random, mdp: bool) -> tuple[str, str, int | None, int | None]:
    """An order's delivery draws: method, its id, branch, second branch (None: not drawn)."""
    pickup = not mdp and rng.random() < PICKUP_SHARE
    if mdp:
        method, method_id = MDP_METHOD
    else:
        method, method_id = rng.choice(PICKUP_METHODS if pickup else HOME_METHODS)
    branch = rng.randrange(1000, 10_000) if pickup else None
    secondary = rng.randrange(1000, 10_000) if pickup and rng.random() < OVERRIDDEN_SHARE else None
    return method, method_id, branch, secondary


def delivery_fields(order: Order, rng: random.Random, mdp: bool, wall: Any) -> dict[str, Any]:
    """delivery_method(_id), branch_id and branches of an order; `wall` writes a MALL time."""
    method, method_id, branch, secondary = delivery_draws(rng, mdp)
    changed = wall(order.status_history[0].at) if secondary is not None else None
    return {
        "delivery_method": method,
        "delivery_method_id": method_id,
        "branch_id": branch,
        "branches": {
            "branch_id": branch,
            "secondary_branch_id": secondary,
            "overridden": secondary is not None,
            "last_change": changed,
        },
    }


def consignment_steps(order: Order) -> list[tuple[str, datetime]]:
    """What the carrier reported, from the order's own path: created when handed over, received,
    on its way, then delivered, returning and returned, or lost."""
    stamps: dict[Status, datetime] = {change.status: change.at for change in order.status_history}
    shipped = stamps.get(Status.SHIPPED)
    if order.tracking_number is None or shipped is None:
        return []
    steps = [("CREATED", stamps.get(Status.SHIPPING, shipped)), ("RECEIVED", shipped)]
    last = shipped
    if (delivered := stamps.get(Status.DELIVERED)) is not None:
        steps += [("DELIVERING", _between(last, delivered)), ("DELIVERED", delivered)]
        last = delivered
    if (returned := stamps.get(Status.RETURNED)) is not None:
        steps += [("RETURNING", _between(last, returned)), ("RETURNED", returned)]
    if (lost := stamps.get(Status.LOST)) is not None:
        steps.append(("LOST", lost))
    return steps


def consignment_entry(code: str, at: str, tracking_number: str) -> dict[str, Any]:
    """One `consignment_status_history` item (`ConsignmentStatusHistoryItem`)."""
    flags = ["lost"] if code == "LOST" else []
    return {"status": code, "date": at, "flags": flags, "tracking_number": tracking_number}


def ulozenka_entry(code: str, at: str) -> dict[str, Any]:
    """One `ulozenka_status_history` item (`ConsignmentStatus`)."""
    number, name = ULOZENKA_STEPS[code]
    return {"id": number, "name": name, "date": at}


def add_consignment_step(payload: dict[str, Any], code: str, at: str) -> None:
    """Record a carrier step on a MALL order (order life: MALL Delivery hands over, delivers)."""
    number = payload.get("tracking_number")
    if not number:
        return
    payload.setdefault("consignment_status_history", []).append(consignment_entry(code, at, number))
    if payload.get("delivery_method") == "ulozenka":
        payload.setdefault("ulozenka_status_history", []).append(ulozenka_entry(code, at))


def _between(start: datetime, end: datetime) -> datetime:
    """Halfway between two times, to the second."""
    return (start + (end - start) / 2).replace(microsecond=0) if end > start else end
