"""The CDON sandbox's own spelling of CDON's order: its times, country names and the rules that
give a row's FulfillmentStatus and the order's State.

Written independently of the hub's codec and `states.py` (the sandbox imports neither), so the
sync tests hold the hub's decoding against payloads it did not shape itself. The rules are the
ones docs/channels-cdon.md sets out where the seed is silent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

Payload = dict[str, Any]

#: CDON's CountryCode (a country name) for an ISO alpha-2 code.
COUNTRY_NAMES = {"SE": "Sweden", "DK": "Denmark", "NO": "Norway", "FI": "Finland"}
#: Rows (and orders) whose goods have reached the customer.
DELIVERED = frozenset({"Delivered", "Invoiced"})


def cdon_time(at: datetime) -> str:
    """CDON's form, as in the seed: zone-less UTC with seven fractional digits."""
    utc = at.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + f".{utc.microsecond:06d}0"


def row_state(row: Payload) -> str:
    """The FulfillmentStatus a row's quantities give (its cancelled quantity left out)."""
    active = int(row["Quantity"]) - int(row["CancelledQuantity"])
    if active <= 0:
        return "Cancelled"
    if int(row["ReturnedQuantity"]) >= active:
        return "Returned"
    if int(row["DeliveredQuantity"]) >= active:
        return "Invoiced" if int(row["InvoicedQuantity"]) >= active else "Delivered"
    return "Pending"


def order_state(rows: list[Payload]) -> str:
    """The order's State from its rows' FulfillmentStatus (`state_of`)."""
    return state_of([row["FulfillmentStatus"] for row in rows])


def state_of(statuses: list[str]) -> str:
    """An order's State from its rows' FulfillmentStatus: cancelled rows left out, any Pending
    row keeps it Pending, all returned is Returned, else Invoiced when every row kept is. (The
    same rules as the hub's `states.py`, stated over sets, not written from it.)"""
    kept = set(statuses) - {"Cancelled"}
    if not kept:
        return "Cancelled" if statuses else "Pending"
    if "Pending" in kept:
        return "Pending"
    if kept == {"Returned"}:
        return "Returned"
    return "Invoiced" if kept - {"Returned"} == {"Invoiced"} else "Delivered"
