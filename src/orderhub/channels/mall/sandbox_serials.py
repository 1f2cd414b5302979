"""`PUT /orders/{id}/items/{item}/serial-numbers`: the serial numbers of one order item.

The body is a JSON array (v5 sends strings, v3's example numbers); the list replaces the
item's `serial_numbers` (an empty one clears it). The item is named by its `id`; the v5 client
types that id as an integer, so a number also finds the item whose `article_id` it is.
"""

from __future__ import annotations

import copy
from typing import Any

from orderhub.channels.mall.sandbox_store import Payload
from orderhub.channels.mall.sandbox_updates import MallError, invalid

#: The key of an item's serial numbers in the order (the detail serves it).
SERIAL_NUMBERS = "serial_numbers"
MAX_SERIAL_LENGTH = 100
MAX_SERIALS = 1000


def apply_serial_numbers(payload: Payload, item_ref: str, body: object) -> Payload:
    """The order with the item's serial numbers set to the body's list."""
    serials = _serials(body)
    changed = copy.deepcopy(payload)
    item = _item(changed, item_ref)
    item[SERIAL_NUMBERS] = serials
    return changed


def _item(payload: Payload, item_ref: str) -> dict[str, Any]:
    items: list[dict[str, Any]] = payload.get("items") or []
    by_id = [item for item in items if str(item.get("id")) == item_ref]
    by_article = [item for item in items if str(item.get("article_id")) == item_ref]
    for item in by_id or (by_article if item_ref.isdigit() else []):
        return item
    raise MallError(
        404,
        "NOT_FOUND",
        f"item {item_ref} not found in order {payload['id']}",
        {"id": payload["id"], "item": item_ref},
    )


def _serials(body: object) -> list[str]:
    if not isinstance(body, list) or len(body) > MAX_SERIALS:
        raise invalid("body", f"a JSON array of at most {MAX_SERIALS} serial numbers", body)
    serials = []
    for index, value in enumerate(body):
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            value = str(value)
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_SERIAL_LENGTH:
            expected = f"a serial number (text of 1 to {MAX_SERIAL_LENGTH} characters)"
            raise invalid(f"body[{index}]", expected, value)
        serials.append(value)
    return serials
