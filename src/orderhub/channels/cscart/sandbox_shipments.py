"""`/api/shipments` of the CS-Cart sandbox: list, read and create an order's shipments.

CS-Cart's developer guide (API entities, "Shipments"): `GET`/`POST /api/shipments`,
`GET /api/shipments/{id}`; `page`/`items_per_page` paging (default 10); a shipment names its
`order_id`, the `products` shipped (`{item_id: quantity}`), the shipping method, a `carrier` or
a `tracking_number`, `comments`, a shipment `status` (P picked up, A packed, S shipped) and
optionally the `order_status` the order takes. Fields the guide does not list are ignored, as
it says. Sandbox rules where the guide is silent are in docs/channels-cscart.md ("Shipments").
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orderhub.channels.cscart.sandbox_life import unix
from orderhub.channels.cscart.sandbox_listing import MAX_ITEMS_PER_PAGE, CsCartError, bad_request
from orderhub.channels.cscart.sandbox_store import Payload
from orderhub.channels.cscart.sandbox_updates import apply_update

#: Shipment statuses of the guide.
SHIPMENT_STATUSES = {"P": "Picked up", "A": "Packed", "S": "Shipped"}
LIST_PARAMETERS = ("page", "items_per_page", "order_id")
DEFAULT_SHIPPING = "Custom shipping method"


@dataclass(frozen=True, slots=True)
class NewShipment:
    """A validated POST body, and the order as it is after the shipment."""

    shipment: dict[str, Any]
    order: Payload


class ShipmentBook:
    """Every shipment the sandbox holds, by id (ids from 1, never reused)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._shipments: dict[int, dict[str, Any]] = {}

    def add(self, shipment: dict[str, Any]) -> int:
        with self.lock:
            shipment_id = len(self._shipments) + 1
            self._shipments[shipment_id] = {"shipment_id": str(shipment_id), **shipment}
            return shipment_id

    def get(self, shipment_id: int) -> dict[str, Any]:
        with self.lock:
            found = self._shipments.get(shipment_id)
        if found is None:
            raise CsCartError(404, f"Not Found: shipment {shipment_id} does not exist")
        return dict(found)

    def replace(self, shipment: dict[str, Any]) -> None:
        with self.lock:
            self._shipments[int(shipment["shipment_id"])] = dict(shipment)

    def remove(self, shipment_id: int) -> dict[str, Any]:
        with self.lock:
            found = self._shipments.pop(shipment_id, None)
        if found is None:
            raise CsCartError(404, f"Not Found: shipment {shipment_id} does not exist")
        return found

    def of_order(self, order_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(s) for s in self._shipments.values() if s["order_id"] == order_id]

    def page(self, params: Sequence[tuple[str, str]]) -> dict[str, Any]:
        """`{"shipments": [...], "params": {page, items_per_page, [order_id], total_items}}`."""
        given = {"page": "1", "items_per_page": "10"}
        for name, value in params:
            if name not in LIST_PARAMETERS:
                known = ", ".join(LIST_PARAMETERS)
                raise bad_request(f"unknown parameter {name!r} (known: {known})")
            given[name] = value
        page = _whole(given["page"], "page", 1, 10**9)
        per_page = _whole(given["items_per_page"], "items_per_page", 1, MAX_ITEMS_PER_PAGE)
        with self.lock:
            chosen = [dict(s) for _, s in sorted(self._shipments.items(), reverse=True)]
        if "order_id" in given:
            order_id = str(_whole(given["order_id"], "order_id", 1, 2**63 - 1))
            chosen = [s for s in chosen if s["order_id"] == order_id]
        start = (page - 1) * per_page
        return {
            "shipments": chosen[start : start + per_page],
            "params": {**given, "total_items": str(len(chosen))},
        }


def new_shipment(
    order: Payload, earlier: list[dict[str, Any]], body: object, now: datetime
) -> NewShipment:
    """Validate a POST body against its order (and the order's earlier shipments); a refused
    body changes nothing."""
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object")
    products = _products(order, earlier, body.get("products"))
    carrier = _text(body, "carrier")
    tracking = _text(body, "tracking_number")
    if not carrier and not tracking:
        raise bad_request("carrier or tracking_number: expected at least one of them")
    status = body.get("status", "P")
    if status not in SHIPMENT_STATUSES:
        raise bad_request(f"status: expected one of P, A, S (shipment status), got {status!r}")
    changed = order
    if "order_status" in body:
        changed = apply_update(order, {"status": body["order_status"]}, now).payload
    shipping_id = str(body.get("shipping_id", order.get("shipping_id") or "1"))
    shipment = {
        "order_id": str(order["order_id"]),
        "shipping_id": shipping_id,
        "shipping": _text(body, "shipping") or _method_name(order, shipping_id),
        "carrier": carrier,
        "tracking_number": tracking,
        "comments": _text(body, "comments"),
        "status": status,
        "timestamp": unix(now),
        "order_timestamp": str(order["timestamp"]),
        "user_id": str(order.get("user_id", "0")),
        "group_key": "0",
        "products": {item: str(quantity) for item, quantity in products.items()},
    }
    return NewShipment(shipment, _after_shipment(changed, order, earlier, products, now))


def record(order: Payload, shipment_id: int) -> None:
    """The order names its new shipment in `shipment_ids`."""
    ids = [i for i in str(order.get("shipment_ids") or "").split(",") if i]
    order["shipment_ids"] = ",".join([*ids, str(shipment_id)])


def changed_shipment(shipment: dict[str, Any], body: object) -> dict[str, Any]:
    """PUT /api/shipments/{id}: the shipment with the body's carrier, tracking number,
    comments, shipment status or method name; its order and products stay as they are."""
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object")
    for fixed in ("order_id", "products"):
        if fixed in body and str(body[fixed]) != str(shipment[fixed]):
            raise bad_request(f"{fixed}: a shipment's {fixed} cannot be changed; delete the "
                              "shipment and create another")  # fmt: skip
    after = dict(shipment)
    for key in ("carrier", "tracking_number", "comments", "shipping"):
        if key in body:
            after[key] = _text(body, key)
    if "status" in body:
        if body["status"] not in SHIPMENT_STATUSES:
            raise bad_request(f"status: expected one of P, A, S, got {body['status']!r}")
        after["status"] = body["status"]
    if not after["carrier"] and not after["tracking_number"]:
        raise bad_request("carrier or tracking_number: expected at least one of them")
    return after


def forget(order: Payload, removed: dict[str, Any], left: list[dict[str, Any]], at: str) -> None:
    """The order after one of its shipments is deleted: no longer named, items to ship again."""
    ids = [i for i in str(order.get("shipment_ids") or "").split(",") if i]
    order["shipment_ids"] = ",".join(i for i in ids if i != removed["shipment_id"])
    shipped = _shipped(left)
    items = order.get("products") or {}
    order["need_shipment"] = any(int(p["amount"]) > shipped.get(k, 0) for k, p in items.items())
    order["updated_at"] = at


def _products(order: Payload, earlier: list[dict[str, Any]], value: object) -> dict[str, int]:
    if not isinstance(value, dict) or not value:
        raise bad_request("products: expected an object {item_id: quantity} naming the items")
    items = order.get("products") or {}
    shipped = _shipped(earlier)
    chosen: dict[str, int] = {}
    for item, raw in value.items():
        if item not in items:
            raise bad_request(f"products: order {order['order_id']} has no item {item!r}")
        left = int(items[item]["amount"]) - shipped.get(item, 0)
        quantity = _whole(raw, f"products[{item}]", 1, 10**9)
        if quantity > left:
            raise bad_request(f"products[{item}]: expected 1 to {left} (left to ship), got {raw!r}")
        chosen[item] = quantity
    return chosen


def _shipped(shipments: list[dict[str, Any]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for shipment in shipments:
        for item, quantity in shipment["products"].items():
            total[item] = total.get(item, 0) + int(quantity)
    return total


def _after_shipment(
    changed: Payload,
    order: Payload,
    earlier: list[dict[str, Any]],
    products: dict[str, int],
    now: datetime,
) -> Payload:
    after = changed if changed is not order else dict(order)
    shipped = _shipped([*earlier, {"products": products}])
    items = order.get("products") or {}
    after["need_shipment"] = any(
        int(item["amount"]) > shipped.get(key, 0) for key, item in items.items()
    )
    after["updated_at"] = unix(now)
    return after


def _method_name(order: Payload, shipping_id: str) -> str:
    for method in order.get("shipping") or []:
        if str(method.get("shipping_id")) == shipping_id:
            return str(method.get("shipping") or DEFAULT_SHIPPING)
    return DEFAULT_SHIPPING


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key, "")
    if not isinstance(value, str):
        raise bad_request(f"{key}: expected a string, got {value!r}")
    return value.strip()


def _whole(value: object, name: str, low: int, high: int) -> int:
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise bad_request(f"{name}: expected an integer from {low}, got {value!r}")
    return int(text)
