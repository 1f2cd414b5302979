"""`POST /orders/labels`: shipping labels for orders, as the official client's
`ShippingLabelRequest` asks for them (`labels_type` pdf|zpl, `first_position`,
`labels_per_page`, `labels: [{order_id, parcel_count}]`).

The answer's `data` is what the client's `Labels` entity reads: `orders: [{order_id,
barcodes}]` (one barcode per parcel) and `labels_raw`, the document base64-encoded (a real
PDF, or ZPL text). Labels fill the page's positions in reading order, the first page from
`first_position` on (a sheet partly used before).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

from orderhub.channels.mall.sandbox_store import Payload
from orderhub.channels.mall.sandbox_updates import MallError, invalid
from orderhub.channels.sandbox_pdf import PAGE_HEIGHT, PAGE_WIDTH, Box, pdf_document

LABEL_TYPES = ("pdf", "zpl")
MAX_LABELS_PER_PAGE = 4
MAX_PARCELS = 99
MAX_ORDERS = 100
#: Orders a label can be printed for: not yet handed over, or shipped (a reprint).
LABEL_STATUSES = ("open", "shipping", "shipped")
#: The carrier's barcode prefix, as in the client's documented example (`14IS50856666*001001`).
BARCODE_PREFIX = "14IS5085"
_KEYS = frozenset({"labels_type", "first_position", "labels_per_page", "labels"})
_MARGIN = 20


def barcode(order_id: int, parcel: int) -> str:
    """The barcode of an order's parcel (1-based), in the documented example's format."""
    return f"{BARCODE_PREFIX}{order_id % 10_000:04d}*001{parcel:03d}"


def create_labels(body: object, order: Callable[[int], Payload]) -> dict[str, Any]:
    """The answer's `data` for a label request; `order(id)` gives an order or raises 404."""
    request = _request(body)
    wanted = [(order(order_id), parcels) for order_id, parcels in request["labels"]]
    for payload, _ in wanted:
        if payload["status"] not in LABEL_STATUSES:
            raise MallError(
                409,
                "LABELS_NOT_ALLOWED",
                f"labels can be printed for orders in status {', '.join(LABEL_STATUSES)}; "
                f"order {payload['id']} is {payload['status']}",
                {"id": payload["id"], "status": payload["status"]},
            )
    orders = [
        {"order_id": p["id"], "barcodes": [barcode(p["id"], n) for n in range(1, count + 1)]}
        for p, count in wanted
    ]
    labels = [
        (payload, code, n, count)
        for (payload, count), entry in zip(wanted, orders, strict=True)
        for n, code in enumerate(entry["barcodes"], start=1)
    ]
    if request["labels_type"] == "pdf":
        raw = _pdf(labels, request["first_position"], request["labels_per_page"])
    else:
        raw = _zpl(labels)
    return {"orders": orders, "labels_raw": base64.b64encode(raw).decode("ascii")}


Label = tuple[Payload, str, int, int]


def _request(body: object) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid("body", "a JSON object", body)
    for key in body:
        if key not in _KEYS:
            raise invalid(key, "a known field (" + ", ".join(sorted(_KEYS)) + ")", body[key])
    kind = body.get("labels_type")
    if kind not in LABEL_TYPES:
        raise invalid("labels_type", "pdf or zpl", kind)
    per_page = _int(body, "labels_per_page", 1, MAX_LABELS_PER_PAGE)
    first = _int(body, "first_position", 1, per_page)
    labels = body.get("labels")
    if not isinstance(labels, list) or not 1 <= len(labels) <= MAX_ORDERS:
        raise invalid("labels", f"a list of 1 to {MAX_ORDERS} {{order_id, parcel_count}}", labels)
    wanted = [_label(entry, index) for index, entry in enumerate(labels)]
    return {"labels_type": kind, "labels_per_page": per_page, "first_position": first,
            "labels": wanted}  # fmt: skip


def _label(entry: object, index: int) -> tuple[int, int]:
    if not isinstance(entry, dict) or set(entry) != {"order_id", "parcel_count"}:
        raise invalid(f"labels[{index}]", "an object {order_id, parcel_count}", entry)
    order_id = _int(entry, "order_id", 1, 10**18, f"labels[{index}].")
    return order_id, _int(entry, "parcel_count", 1, MAX_PARCELS, f"labels[{index}].")


def _int(body: dict[str, Any], key: str, low: int, high: int, prefix: str = "") -> int:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid(prefix + key, f"an integer from {low} to {high}", value)
    return value


def _pdf(labels: list[Label], first: int, per_page: int) -> bytes:
    slots = _slots(per_page)
    pages: list[list[Box]] = []
    for position, label in enumerate(labels, start=first - 1):
        if position % per_page == 0 or not pages:
            pages.append([])
        x, y, width, height = slots[position % per_page]
        pages[-1].append(Box(x, y, width, height, _lines(*label)))
    return pdf_document(pages)


def _slots(per_page: int) -> list[tuple[float, float, float, float]]:
    """The label positions of a page in reading order: one per page, or a 2 x 2 grid."""
    if per_page == 1:
        return [(_MARGIN, _MARGIN, PAGE_WIDTH - 2 * _MARGIN, PAGE_HEIGHT - 2 * _MARGIN)]
    width, height = (PAGE_WIDTH - 3 * _MARGIN) / 2, (PAGE_HEIGHT - 3 * _MARGIN) / 2
    columns = [_MARGIN, 2 * _MARGIN + width]
    rows = [2 * _MARGIN + height, _MARGIN]
    return [(x, y, width, height) for y in rows for x in columns][:per_page]


def _lines(payload: Payload, code: str, parcel: int, parcels: int) -> list[str]:
    address = payload.get("address") or {}
    return [
        "MALL Delivery - sandbox label",
        f"Order {payload['id']}   parcel {parcel}/{parcels}",
        f"Barcode {code}",
        *(str(address.get(key) or "") for key in ("name", "street")),
        f"{address.get('zip') or ''} {address.get('city') or ''} {address.get('country') or ''}",
    ]


def _zpl(labels: list[Label]) -> bytes:
    return "".join(_zpl_label(*label) for label in labels).encode("utf-8")


def _zpl_label(payload: Payload, code: str, parcel: int, parcels: int) -> str:
    fields = "".join(_zpl_fields(_lines(payload, code, parcel, parcels)))
    return f"^XA^CI28{fields}^FO40,400^BCN,120,Y,N,N^FD{code}^FS^XZ\n"


def _zpl_fields(lines: list[str]) -> Iterator[str]:
    for index, line in enumerate(lines):
        text = line.replace("^", " ").replace("~", " ")
        yield f"^FO40,{40 + index * 50}^A0N,36,36^FD{text}^FS"
