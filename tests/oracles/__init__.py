"""Test-side oracles: what the hub must hold for a channel's raw order payload.

Each channel module (`mall`, `cscart`) turns one raw payload into the canonical values the hub
must store, with tables and rules written by hand from the channel's doc (docs/channels-*.md),
design section 3 and the seed documents, never imported from the hub's codecs. `differences`
compares a stored order with them field by field. Fields the hub owns (its id, `confirmed`,
`vendor_ref` unless the channel carries it, `push_status`/`push_error`, tracking and carrier
the channel does not carry) are left out of the expectations, so they are never compared.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from orderhub.domain import Order

#: Where an expected value is missing from the hub's order (e.g. a key absent from `extra`).
MISSING = "<missing>"
CENT = Decimal("0.01")

#: An address as the oracles write it: every canonical Address field.
ADDRESS_FIELDS = (
    "name", "company", "street", "street2", "city", "zip", "region", "country", "phone", "email",
)  # fmt: skip


def cents(value: Decimal) -> Decimal:
    """Rounded to cents, half to even (the rounding docs/channels-*.md name)."""
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def money(value: object) -> Decimal | None:
    """A channel amount (string or JSON number) as an exact Decimal; empty is None."""
    if value is None or value == "":
        return None
    return Decimal(str(value))


def text(value: object) -> str | None:
    """A channel text value; empty is None (both channels' docs: "empty strings read as null")."""
    return None if value is None or value == "" else str(value)


def address(**fields: Any) -> dict[str, Any]:
    return {name: fields.get(name) for name in ADDRESS_FIELDS}


def line(**fields: Any) -> dict[str, Any]:
    """An expected order line; fulfilment quantities neither channel carries stay 0."""
    return {"delivered_quantity": 0, "cancelled_quantity": 0, "returned_quantity": 0} | fields


def observed(order: Order, expected: Mapping[str, Any]) -> dict[str, Any]:
    """The hub's order in the oracles' plain shape, for the keys of `expected`."""
    seen: dict[str, Any] = {}
    for key, wanted in expected.items():
        if key == "extra":
            seen[key] = {name: order.extra.get(name, MISSING) for name in wanted}
        elif key in ("shipping_address", "billing_address"):
            found = getattr(order, key)
            seen[key] = None if found is None else asdict(found)
        elif key == "lines":
            seen[key] = [asdict(found) for found in order.lines]
        elif key == "status_history":
            seen[key] = [(c.status, c.at, c.source) for c in order.status_history]
        else:
            seen[key] = getattr(order, key)
    return seen


def differences(order: Order, expected: Mapping[str, Any]) -> list[str]:
    """Each field where the hub's order is not what the oracle expects, with both values."""
    seen = observed(order, expected)
    return [
        f"{order.external_id}.{key}: hub {seen[key]!r}, expected {wanted!r}"
        for key, wanted in expected.items()
        if seen[key] != wanted
    ]


# --- golden fixtures (tests/channels/golden) --------------------------------------------------

GOLDEN = Path(__file__).parent.parent / "channels" / "golden"
_MONEY = ("total", "subtotal", "tax_total", "shipping_cost", "discount", "cod")
_LINE_MONEY = ("unit_price", "tax_rate", "tax_amount", "total")
_TIMES = ("created_at", "updated_at", "delivered_at")


def raw_fixture(name: str) -> dict[str, Any]:
    """A channel payload fixture, amounts with a fraction read as exact Decimals."""
    loaded: dict[str, Any] = json.loads((GOLDEN / name).read_text(), parse_float=Decimal)
    return loaded


def golden(name: str) -> tuple[dict[str, Any], dict[str, list[str]], dict[str, Any]]:
    """(raw payload, raw field -> canonical fields it feeds, expected canonical order) of
    `<name>.json` and its hand-written `<name>.expected.json`."""
    written = raw_fixture(f"{name}.expected.json")
    order = dict(written["order"])
    for key in _MONEY:
        order[key] = None if order[key] is None else Decimal(order[key])
    for key in _TIMES:
        order[key] = None if order[key] is None else datetime.fromisoformat(order[key])
    order["ship_date"] = order["ship_date"] and date.fromisoformat(order["ship_date"])
    order["lines"] = [
        found | {key: Decimal(found[key]) for key in _LINE_MONEY} for found in order["lines"]
    ]
    order["status_history"] = [
        (status, datetime.fromisoformat(at), source)
        for status, at, source in order["status_history"]
    ]
    return raw_fixture(f"{name}.json"), written["_fields"], order
