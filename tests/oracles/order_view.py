"""Compare stored canonical orders with expectations an oracle wrote from raw channel payloads.

An expectation is a plain dict: canonical field name -> value (addresses and lines as dicts of
their fields, `extra` as the dict the channel's leftovers should give). Only the fields an
expectation names are compared, so the hub's own fields (id, confirmed, vendor_ref, push state,
tracking a channel does not carry, the history the sync records) stay out of it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from orderhub.domain import Order

Expected = dict[str, Any]


def view(order: Order, fields: list[str]) -> Expected:
    """The named fields of a stored order, addresses and lines as plain dicts."""
    out: Expected = {}
    for name in fields:
        value = getattr(order, name)
        if name in ("shipping_address", "billing_address"):
            value = None if value is None else dataclasses.asdict(value)
        elif name == "lines":
            value = [dataclasses.asdict(line) for line in value]
        out[name] = value
    return out


def differences(order: Order, expected: Expected) -> list[str]:
    """One line per field where the stored order differs from the expectation."""
    got = view(order, list(expected))
    found = []
    for name, want in expected.items():
        if not _same(got[name], want):
            found.append(f"{order.external_id}.{name}: hub {got[name]!r}, expected {want!r}")
    return found


def assert_orders_match(stored: Mapping[str, Order], expected: Mapping[str, Expected]) -> None:
    """The hub holds exactly the expected orders, each field as the oracle says."""
    missing, extra = expected.keys() - stored.keys(), stored.keys() - expected.keys()
    assert not missing and not extra, f"missing {sorted(missing)[:5]}, extra {sorted(extra)[:5]}"
    problems = [
        line for key in sorted(expected) for line in differences(stored[key], expected[key])
    ]
    assert problems == [], f"{len(problems)} fields differ:\n" + "\n".join(problems[:12])


def _same(got: object, want: object) -> bool:
    """Equal, and of the same kind (a Decimal is not a float, an int not a bool)."""
    if isinstance(want, dict):
        return (
            isinstance(got, dict)
            and got.keys() == want.keys()
            and all(_same(got[k], want[k]) for k in want)
        )
    if isinstance(want, list):
        return (
            isinstance(got, list)
            and len(got) == len(want)
            and all(_same(g, w) for g, w in zip(got, want, strict=True))
        )
    if isinstance(want, bool) or isinstance(got, bool):
        return type(got) is type(want) and got == want
    if want is None or got is None:
        return got is want
    if isinstance(want, str):  # a status enum is a str too
        return isinstance(got, str) and got == want
    if isinstance(want, Decimal):
        return isinstance(got, Decimal) and got == want
    return type(got) is type(want) and got == want
