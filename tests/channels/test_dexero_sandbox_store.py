"""The Dexero sandbox's SQL store answers as its plain-Python store did: each list's filters,
order and paging, the orders order life picks from, the order-number lookup. The expected side
is the old code, kept here as the oracle: Python filters and sorts over the payloads
themselves (`orders_json`)."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from orderhub.channels.dexero.sandbox_listing import LISTS, parse_selection
from orderhub.channels.dexero.sandbox_payload import read_time
from orderhub.channels.dexero.sandbox_state import DexeroSandbox
from orderhub.domain.jsonfmt import dumps

Payload = dict[str, Any]

QUERIES: list[tuple[str, list[tuple[str, str]]]] = [
    ("all", [("count", "500"), ("offset", "100")]),
    ("pending", [("count", "50")]),
    ("untreated", [("count", "500"), ("sort_dir", "desc")]),
    ("treated", [("sort_key", "updatedTimestamp"), ("count", "500")]),
    ("all", [("include_tests", "true"), ("count", "500"), ("offset", "1000")]),
    ("all", [("sort_key", "total_order"), ("count", "300"), ("sort_dir", "desc")]),
    ("all", [("sort_key", "customer_email"), ("count", "100"), ("offset", "7")]),
    ("all", [("sort_key", "is_test"), ("count", "100"), ("include_tests", "1")]),
    ("all", [("sort_key", "customer_comment"), ("count", "500")]),
    ("all", [("customer_email", "PLACEHOLDER"), ("include_tests", "true")]),
    ("all", [("earliest_time", "2026-05-01T10:00:00+02:00"),
             ("latest_time", "2026-08-01T00:00:00Z"), ("count", "500")]),
    ("all", [("min_id", "ID"), ("max_id", "ID+300"), ("count", "500")]),
    ("all", [("min_id", "999999999999999999")]),
    ("all", [("earliest_time", "2027-01-01T00:00:03Z"), ("sort_key", "updatedTimestamp")]),
    ("all", [("earliest_time", "2027-01-01T00:00:03.000001Z"),
             ("latest_time", "2027-01-01T01:00:09+01:00")]),
    ("all", [("custom_field_identifier", "engraving"), ("count", "500")]),
    ("all", [("custom_field_value", "For Anna"), ("count", "500")]),
    ("all", [("custom_field_identifier", "engraving"), ("custom_field_value", "For Anna")]),
    ("all", [("custom_field_identifier", "colour")]),
    ("all", [("attribute_identifier", "colour"), ("count", "500"), ("sort_dir", "desc")]),
    ("pending", [("attribute_value", "For Anna")]),
]  # fmt: skip


def _pairs(payload: Payload, key: str) -> set[tuple[str, str]]:
    return {
        (str(item.get("identifier")), str(item.get("value")))
        for product in payload.get("product") or []
        for item in product.get(key) or []
    }


def _old_ids(orders: list[Payload], name: str, params: list[tuple[str, str]]) -> list[int]:
    """The old store's page: its Row values, filters and sort, over the payloads."""
    values = dict(params)
    statuses = LISTS[name]
    tests = values.get("include_tests", "false") in ("true", "1")
    key = values.get("sort_key", "purchasedTimestamp")

    def stamp(p: Payload) -> datetime:
        return read_time(p.get("updated_date") or p["purchase_date"])

    checks: list[Callable[[Payload], bool]] = []
    if "customer_email" in values:
        checks.append(
            lambda p: str(p.get("customer_email") or "").lower() == values["customer_email"].lower()
        )
    if "earliest_time" in values:
        checks.append(lambda p: stamp(p) >= datetime.fromisoformat(values["earliest_time"]))
    if "latest_time" in values:
        checks.append(lambda p: stamp(p) <= datetime.fromisoformat(values["latest_time"]))
    if "min_id" in values:
        checks.append(lambda p: int(p["id"]) >= int(values["min_id"]))
    if "max_id" in values:
        checks.append(lambda p: int(p["id"]) <= int(values["max_id"]))
    for prefix, field in (("custom_field", "custom_param"), ("attribute", "attribute")):
        ident, value = values.get(f"{prefix}_identifier"), values.get(f"{prefix}_value")
        if ident is not None or value is not None:
            checks.append(
                lambda p, f=field, i=ident, v=value: any(
                    (i is None or a == i) and (v is None or b == v) for a, b in _pairs(p, f)
                )
            )

    def sort_value(p: Payload) -> tuple[Any, ...]:
        if key == "purchasedTimestamp":
            return (read_time(p["purchase_date"]), int(p["id"]))
        if key == "updatedTimestamp":
            return (stamp(p), int(p["id"]))
        value = p.get(key)
        return (*((0, "") if value is None or value == "" else (1, value)), int(p["id"]))

    found = [
        p for p in orders
        if (statuses is None or str(p["status"]).lower() in statuses)
        and (tests or not p.get("is_test")) and all(check(p) for check in checks)
    ]  # fmt: skip
    found.sort(key=sort_value, reverse=values.get("sort_dir") == "desc")
    offset, count = int(values.get("offset", 0)), int(values.get("count", 20))
    return [int(p["id"]) for p in found[offset : offset + count]]


def _fill(params: list[tuple[str, str]], example: Payload) -> list[tuple[str, str]]:
    """The query's placeholders as values of one of the orders."""
    names = {"PLACEHOLDER": str(example.get("customer_email")).upper(), "ID": str(example["id"]),
             "ID+300": str(int(example["id"]) + 300)}  # fmt: skip
    return [(n, names.get(v, v)) for n, v in params]


def _check(sandbox: DexeroSandbox) -> None:
    orders = sandbox.orders_json()
    example = orders[len(orders) // 3]
    assert any(_pairs(p, "custom_param") for p in orders)
    for name, raw in QUERIES:
        params = _fill(raw, example)
        expected = _old_ids(orders, name, params)
        for fmt in ("json", "xml"):
            page = orjson.loads(dumps(sandbox.list_orders(name, params, fmt)))["orders"]
            assert [int(p["id"]) for p in page] == expected, (name, params, fmt)
    # Order life picks from the orders in its statuses, in the order they were first stored.
    for statuses in (("pending",), ("untreated",), ("pending", "untreated"), ("treated",)):
        expected_ids = [int(p["id"]) for p in sandbox.first_stored if p["status"] in statuses]
        assert sandbox.store.ids(statuses) == expected_ids
    assert sandbox.store.by_number(str(example["reference_number"])) == example
    assert sandbox.store.by_number("no such number") is None


@pytest.mark.parametrize("snapshot", [False, True])
def test_lists_and_life_picks_are_the_old_stores(snapshot: bool, tmp_path: Any) -> None:
    sandbox = DexeroSandbox(1_500, 9, snapshots=tmp_path if snapshot else None)
    sandbox.first_stored = sandbox.orders_json()  # type: ignore[attr-defined]
    _check(sandbox)
    readings = itertools.count()
    sandbox.clock.now = lambda: datetime(2027, 1, 1, tzinfo=UTC) + timedelta(seconds=next(readings))
    before = {int(p["id"]) for p in sandbox.first_stored}  # type: ignore[attr-defined]
    sandbox.run_life([("steps", 20), ("pay", 3), ("treat", 3), ("cancel", 3)])
    moved = copy.deepcopy(sandbox.orders_json()[40])
    moved["id"] = 7  # a new order with a small id: stored last, listed by its id
    sandbox.put_order(moved)
    now = {int(p["id"]): p for p in sandbox.orders_json()}
    arrived = [i for i in now if i not in before and i != 7]
    stored = [now[i] for i in sorted(before)] + [now[i] for i in sorted(arrived)] + [now[7]]
    sandbox.first_stored = stored  # type: ignore[attr-defined]
    _check(sandbox)
    assert parse_selection("all", []).rows_key != parse_selection("all", [("min_id", "1")]).rows_key
