"""CDON's per-row write-back rules, as the sandbox applies them: delivery, cancellation, return.

A request names rows and quantities; it is applied whole or not at all. The order's State,
PaymentStatus, amounts and invoices are then derived from its rows (`settle`). The rules where
CDON's documents are silent are in docs/channels-cdon.md ("Sandbox").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from orderhub.channels.cdon.sandbox_payload import DELIVERED, cdon_time, order_state, row_state
from orderhub.channels.sandbox_app import SandboxError

Payload = dict[str, Any]
ZERO = Decimal(0)

#: CDON's documented `ErrorCode`s ("Working with Orders", Error Codes, docs.marketplace.cdon.com).
ORDER_NOT_FOUND, UNKNOWN_ROW, ROW_OVERFLOW, ROW_STATE = 1000, 1001, 1002, 1006
DUPLICATE_ROW, NO_ROWS = 1008, 1009
#: For what CDON documents no code (a malformed parameter or body; no orders on the list),
#: the ErrorCode is the HTTP status, as for the sandbox's other non-content answers.
BAD_REQUEST, NO_ORDERS = 400, 404
_PAID = frozenset({"Paid", "Refunded", "AwaitingRefund"})


class CdonError(SandboxError):
    """A refusal in CDON's shape: `{"ErrorCode": ..., "Message": ...}` with an HTTP status."""

    def body(self) -> dict[str, Any]:
        return {"ErrorCode": self.code, "Message": self.message}


@dataclass(frozen=True, slots=True)
class RowRequest:
    row_id: int
    quantity: int
    package_id: str | None = None


def goods(row: Payload) -> bool:
    return row["ProductType"] != "Postage"


def open_quantity(row: Payload) -> int:
    """What is neither delivered nor cancelled yet."""
    return int(row["Quantity"]) - int(row["CancelledQuantity"]) - int(row["DeliveredQuantity"])


def open_requests(
    rows: list[Payload], package: str | None = None, kinds: Callable[[Payload], bool] = goods
) -> list[RowRequest]:
    """A request for all that is still open of each row of the `kinds` given (goods: every row
    but Postage), in `package` when delivered."""
    return [RowRequest(row["OrderRowId"], open_quantity(row), package) for row in rows
            if kinds(row) and open_quantity(row) > 0]  # fmt: skip


def returnable(row: Payload) -> int:
    return int(row["DeliveredQuantity"]) - int(row["ReturnedQuantity"])


# --- the three calls ------------------------------------------------------------------------


def deliver(order: Payload, requests: list[RowRequest], at: datetime) -> None:
    def apply(row: Payload, request: RowRequest) -> None:
        _need_state(row, "Pending", "delivered")
        _need_quantity(row, request.quantity, open_quantity(row), "QuantityToDeliver")
        row["DeliveredQuantity"] += request.quantity
        if request.package_id:
            row["PackageId"] = request.package_id

    _apply(order, requests, apply, at)


def cancel(order: Payload, requests: list[RowRequest], at: datetime) -> None:
    def apply(row: Payload, request: RowRequest) -> None:
        _need_state(row, "Pending", "cancelled")
        _need_quantity(row, request.quantity, open_quantity(row), "QuantityToCancel")
        row["CancelledQuantity"] += request.quantity

    _apply(order, requests, apply, at)


def return_rows(order: Payload, requests: list[RowRequest], at: datetime) -> None:
    def apply(row: Payload, request: RowRequest) -> None:
        if returnable(row) <= 0:
            raise _refused(f"row {row['OrderRowId']} is {row['FulfillmentStatus']}: "
                           "only delivered quantities can be returned")  # fmt: skip
        _need_quantity(row, request.quantity, returnable(row), "QuantityToReturn")
        row["ReturnedQuantity"] += request.quantity

    _apply(order, requests, apply, at)


def pay(order: Payload, at: datetime) -> None:
    """The customer pays an order that was awaiting payment (CDON collects it)."""
    for row in order["OrderDetails"]["OrderRows"]:
        if row["PaymentStatus"] == "AwaitingPayment":
            row["PaymentStatus"] = "Paid"
    settle(order, at)


Apply = Callable[[Payload, RowRequest], None]


def _apply(order: Payload, requests: list[RowRequest], apply: Apply, at: datetime) -> None:
    """Apply every row request or none (the rows are changed on a copy first)."""
    details = order["OrderDetails"]
    rows = {int(row["OrderRowId"]): dict(row) for row in details["OrderRows"]}
    seen: set[int] = set()
    for request in requests:
        if request.row_id in seen:
            message = f"OrderRowId {request.row_id} appears twice in the command"
            raise CdonError(400, DUPLICATE_ROW, message)
        seen.add(request.row_id)
        row = rows.get(request.row_id)
        if row is None:
            message = f"order {details['OrderId']} has no OrderRowId {request.row_id}"
            raise CdonError(400, UNKNOWN_ROW, message)
        apply(row, request)
    changed = [rows[int(row["OrderRowId"])] for row in details["OrderRows"]]
    _postage_with_the_rest(changed, seen)
    details["OrderRows"] = changed
    settle(order, at)


def _postage_with_the_rest(after: list[Payload], named: set[int]) -> None:
    """A request that leaves no goods open must settle the open Postage rows too."""
    if any(goods(row) and open_quantity(row) > 0 for row in after):
        return
    touched_goods = any(goods(row) and int(row["OrderRowId"]) in named for row in after)
    left = [r for r in after if not goods(r) and open_quantity(r) > 0]
    if touched_goods and left:
        ids = ", ".join(str(row["OrderRowId"]) for row in left)
        raise _refused(f"the Postage row ({ids}) must be delivered or cancelled with the rest")


def _need_state(row: Payload, state: str, verb: str) -> None:
    if row["FulfillmentStatus"] != state or open_quantity(row) <= 0:
        raise _refused(f"row {row['OrderRowId']} is {row['FulfillmentStatus']}: "
                       f"only {state} rows can be {verb}")  # fmt: skip


def _need_quantity(row: Payload, quantity: int, allowed: int, name: str) -> None:
    if not 1 <= quantity <= allowed:
        raise CdonError(
            400,
            ROW_OVERFLOW if quantity > allowed else BAD_REQUEST,
            f"{name} {quantity} for row {row['OrderRowId']}: expected 1 to {allowed} "
            f"(Quantity {row['Quantity']}, Delivered {row['DeliveredQuantity']}, "
            f"Cancelled {row['CancelledQuantity']}, Returned {row['ReturnedQuantity']})",
        )


def _refused(message: str) -> CdonError:
    return CdonError(400, ROW_STATE, message)


# --- what follows from the rows -------------------------------------------------------------


def settle(order: Payload, at: datetime) -> None:
    """Derive rows' and order's states, payment, amounts and invoices; stamp the change."""
    details = order["OrderDetails"]
    rows = details["OrderRows"]
    for row in rows:
        _settle_row(row)
    if all(row["FulfillmentStatus"] in DELIVERED | {"Cancelled", "Returned"} for row in rows):
        _invoice(order, at)
        for row in rows:  # invoicing moved quantities: Delivered rows become Invoiced
            _settle_row(row)
    details["State"] = order_state(rows)
    details["PaymentStatus"] = order_payment(rows)
    details["LastModifiedDateUtc"] = cdon_time(at)


def _settle_row(row: Payload) -> None:
    price = Decimal(row["PricePerUnit"])
    paid = row["PaymentStatus"] in _PAID
    gone = int(row["CancelledQuantity"]) + int(row["ReturnedQuantity"])
    kept = int(row["Quantity"]) - gone
    if paid:
        row["PaymentStatus"] = "Paid" if kept > 0 else "Refunded"
    else:
        row["PaymentStatus"] = "AwaitingPayment" if kept > 0 else "NotApplicable"
    row["FulfillmentStatus"] = row_state(row)
    row["PaidAmount"] = price * int(row["Quantity"]) if paid else ZERO
    row["RefundedAmount"] = price * gone if paid else ZERO
    row["DebitedAmount"] = price * int(row["InvoicedQuantity"])
    row["CreditedAmount"] = price * min(int(row["ReturnedQuantity"]), int(row["InvoicedQuantity"]))


def order_payment(rows: list[Payload]) -> str:
    """The order's PaymentStatus from its rows: the least settled of the rows still kept."""
    states = {row["PaymentStatus"] for row in rows}
    for state in ("AwaitingRefund", "AwaitingPayment", "Paid", "Refunded"):
        if state in states:
            return state
    return "NotApplicable"


def _invoice(order: Payload, at: datetime) -> None:
    """Invoice what is delivered and not yet invoiced (all rows are done): one invoice."""
    details = order["OrderDetails"]
    rows = [r for r in details["OrderRows"] if int(r["DeliveredQuantity"]) > r["InvoicedQuantity"]]
    if not rows:
        _credit(order)
        return
    invoices = order.setdefault("Invoices", [])
    number = f"{details['OrderId']}-{len(invoices) + 1}"
    lines = []
    for index, row in enumerate(rows, start=1):
        quantity = int(row["DeliveredQuantity"]) - int(row["InvoicedQuantity"])
        row["InvoicedQuantity"] = int(row["DeliveredQuantity"])
        lines.append({"InvoiceRowNumber": str(index), "OrderRowId": row["OrderRowId"],
                      "Quantity": quantity})  # fmt: skip
    total = sum((Decimal(r["PricePerUnit"]) * q["Quantity"] for r, q in zip(rows, lines,
                 strict=True)), ZERO)  # fmt: skip
    vat = sum((Decimal(r["VatPerUnit"]) * q["Quantity"] for r, q in zip(rows, lines,
               strict=True)), ZERO)  # fmt: skip
    invoices.append({
        "InvoiceNumber": number,
        "BookingDateUtc": cdon_time(at),
        "TotalPaymentAmount": total,
        "TotalCreditNoteAmount": ZERO,
        "TotalVat": vat,
        "InvoiceRows": lines,
    })  # fmt: skip
    details["InvoiceNumbers"] = [*details.get("InvoiceNumbers", []), number]
    _credit(order)


def _credit(order: Payload) -> None:
    """Returned quantities are credited on the invoices that billed them."""
    invoices = order.get("Invoices") or []
    if not invoices:
        return
    rows = order["OrderDetails"]["OrderRows"]
    credited = sum((Decimal(r["PricePerUnit"]) * int(r["ReturnedQuantity"]) for r in rows), ZERO)
    invoices[-1]["TotalCreditNoteAmount"] = credited - sum(
        (Decimal(i["TotalCreditNoteAmount"]) for i in invoices[:-1]), ZERO
    )
