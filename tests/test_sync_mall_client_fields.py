"""The richer MALL orders (what MALL's official client reads) land in the hub, on SQLite and
PostgreSQL: one test per field, each checked against the sandbox's own payloads by the rule
docs/channels-mall.md gives for it, written out here by hand."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from orderhub.domain import Order
from orderhub.services.sync import sync_account
from sync_support import hub_orders, mall_sandbox

PRAGUE = ZoneInfo("Europe/Prague")
Payload = dict[str, Any]
#: Consignment codes that mean an order status, and the status (docs/channels-mall.md).
CONSIGNMENT_STATUS = {
    "DELIVERED": "delivered", "RETURNING": "returning", "RETURNED": "returned", "LOST": "lost",
}  # fmt: skip


def instant(wall: str) -> datetime:
    parsed = datetime.strptime(wall, "%Y-%m-%d %H:%M:%S").replace(tzinfo=PRAGUE)
    return parsed.astimezone(UTC)


def contact(payload: Payload, order: Order) -> bool:
    address = payload["address"]
    return (order.email, order.phone) == (address["email"] or None, address["phone"] or None)


def delivery(payload: Payload, order: Order) -> bool:
    keys = ("delivery_method", "delivery_method_id", "delivery_date", "first_delivery_attempt")
    return all(order.extra[key] == payload[key] for key in keys)


def pickup_branch(payload: Payload, order: Order) -> bool:
    return (order.extra["branch_id"], order.extra["branches"]) == (
        payload["branch_id"],
        payload["branches"],
    )


def line_articles(payload: Payload, order: Order) -> bool:
    kept = order.extra.get("items_extra", {})
    return [kept[line.line_id]["article_id"] for line in order.lines] == [
        item["article_id"] for item in payload["items"]
    ]


def line_serial_numbers(payload: Payload, order: Order) -> bool:
    kept = order.extra.get("items_extra", {})
    return [kept[line.line_id]["serial_numbers"] for line in order.lines] == [
        item["serial_numbers"] for item in payload["items"]
    ]


def consignment_in_history(payload: Payload, order: Order) -> bool:
    """Each consignment entry meaning a status no MALL timestamp carries is in the history."""
    history = {(change.status.value, change.at) for change in order.status_history}
    stamped = {word for word in CONSIGNMENT_STATUS.values() if payload.get(word)}
    for entry in payload["consignment_status_history"]:
        status = CONSIGNMENT_STATUS.get(entry["status"])
        if status and status not in stamped and (status, instant(entry["date"])) not in history:
            return False
    return True


def consignment_kept(payload: Payload, order: Order) -> bool:
    return (
        order.extra["consignment_status_history"] == payload["consignment_status_history"]
        and order.extra["ulozenka_status_history"] == payload["ulozenka_status_history"]
    )


FIELDS: dict[str, Callable[[Payload, Order], bool]] = {
    "contact from the address": contact,
    "delivery method and dates": delivery,
    "pickup branch": pickup_branch,
    "article ids on lines": line_articles,
    "serial numbers on lines": line_serial_numbers,
    "consignment history in the status history": consignment_in_history,
    "consignment histories verbatim": consignment_kept,
}


@pytest.mark.parametrize("field", list(FIELDS))
def test_synced_mall_orders_carry_the_clients_fields(engine: Engine, field: str) -> None:
    with mall_sandbox(orders=150, seed=7) as sandbox:
        sandbox.state.step_life(5)
        result = sync_account(engine, sandbox.account(page_size=100))
        assert result.ok, result.error
        payloads = sandbox.state.orders_json()
        stored = hub_orders(engine)
    assert len(stored) == len(payloads)
    wrong = [p["id"] for p in payloads if not FIELDS[field](p, stored[str(p["id"])])]
    assert wrong == []


def test_returning_from_the_consignment_reaches_the_hub(engine: Engine) -> None:
    """The one status MALL's order has no word for: the carrier's RETURNING."""
    with mall_sandbox(orders=150, seed=7) as sandbox:
        assert sync_account(engine, sandbox.account(page_size=100)).ok
        returning = {
            str(p["id"]): instant(entry["date"])
            for p in sandbox.state.orders_json()
            for entry in p["consignment_status_history"]
            if entry["status"] == "RETURNING"
        }
        stored = hub_orders(engine)
    assert returning
    for external_id, at in returning.items():
        changes = [(c.status.value, c.at) for c in stored[external_id].status_history]
        assert ("returning", at) in changes
        assert changes[-1][0] == "returned"
