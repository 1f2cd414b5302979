"""The MALL sandbox's `PUT /orders/{id}` writes only the columns of the fields it changed; its
table must still hold what a fresh insert of the orders' JSON would: the oracle is a second
store filled from the changed sandbox's orders, compared row for row, column for column."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from orderhub.channels.mall.sandbox_state import MallSandbox
from orderhub.channels.mall.sandbox_store import MallOrderStore, mall_orders
from orderhub.channels.mall.sandbox_updates import MallError, changed_fields
from orderhub.channels.sandbox_kit import FaultSpec

SHIPPED = {"status": "shipped", "confirmed": True, "tracking_number": "TRK-1"}
SHIPPING = {"status": "shipping", "tracking_url": "https://track.example.com/1"}


def _rows(store: MallOrderStore) -> list[Any]:
    with store.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(select(mall_orders).order_by(mall_orders.c.id))]


def _fresh_rows(sandbox: MallSandbox) -> list[Any]:
    oracle = MallOrderStore()
    oracle.insert(sandbox.orders_json())
    return _rows(oracle)


def _bodies(payload: dict[str, Any], index: int) -> list[dict[str, Any]]:
    """A confirmation, a confirmation with a status, or a status after one."""
    if payload["status"] != "open":
        return [{"confirmed": True}]
    return [
        [{"confirmed": True}],
        [SHIPPED],
        [{"confirmed": True}, SHIPPING],
        [{"confirmed": True}, {"confirmed": True}],  # the same again: nothing changes
    ][index % 4]


def test_a_changed_sandbox_table_is_what_its_orders_would_insert() -> None:
    sandbox = MallSandbox(300, 11, FaultSpec.parse(None))
    unconfirmed = [p for p in sandbox.orders_json() if not p["confirmed"]]
    assert len(unconfirmed) > 20  # the seed gives orders to confirm
    before = _rows(sandbox.store)
    changed = 0
    for index, payload in enumerate(unconfirmed):
        for body in _bodies(payload, index):
            try:
                sandbox.update(payload["id"], body)
                changed += 1
            except MallError:  # refused: nothing written
                pass
    assert changed > 20
    after = _rows(sandbox.store)
    assert after == _fresh_rows(sandbox)
    assert sum(old != new for old, new in zip(before, after, strict=True)) > 20


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ({"a": 1, "b": "x", "c": None}, {"a": 1, "b": "x", "c": None}, []),
        ({"a": 1, "b": False}, {"a": 1, "b": True}, ["b"]),
        ({"a": 1}, {"a": 1, "c": None}, ["c"]),  # added, even as null
        ({"a": 1, "c": None}, {"a": 1}, ["c"]),  # dropped
        ({"a": 0}, {"a": False}, ["a"]),  # equal, but a text column reads them apart
        ({"a": 1.0}, {"a": 1}, ["a"]),
        ({"a": [0]}, {"a": [0]}, ["a"]),  # containers: never taken for the same
        ({"a": {"x": 1}}, {"a": {"x": 1}}, ["a"]),
    ],
)
def test_changed_fields(before: dict[str, Any], after: dict[str, Any], expected: list[str]) -> None:
    assert changed_fields(before, after) == expected
