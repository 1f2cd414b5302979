"""The order page as a response: what the GET and every action post render (the page again
with an error next to a form, or a stale edit explained), and reading an order id from a URL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.responses import HTMLResponse

from orderhub.domain import NotFound
from orderhub.domain.fulfilment import GOODS, LineAction, open_quantity
from orderhub.domain.order import Order
from orderhub.services.order_detail import OrderDetail, TimelineEntry
from orderhub.services.push_retry import RETRYABLE
from orderhub.web.templating import page

#: An id the database can hold (BIGINT): at most 18 digits.
_MAX_ID_DIGITS = 18

#: What a redirect after an action says (`?done=`), in words.
DONE = {
    "confirmed": "The order is confirmed.",
    "status": "The status is changed.",
    "shipped": "The shipment is recorded.",
    "cancelled": "What was left to ship is cancelled.",
    "vendor_ref": "The vendor reference is saved.",
    "retry": "The push is queued again; the worker sends it.",
}
#: What became of "Notify the customer" (`?mail=`), in words.
MAIL = {
    "hub": "The customer is e-mailed about it.",
    "channel": "The channel tells the customer.",
    "no-address": "No e-mail is sent: the order has no e-mail address.",
    "unchanged": "No e-mail is sent: the status did not change.",
}


class BadOrderId(NotFound):
    def __init__(self, raw: str) -> None:
        super().__init__(f"There is no order {raw!r}: an order's number is a whole number.")


def order_id(raw: str) -> int:
    """The order id of a URL; anything but a whole number is the 404 page."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > _MAX_ID_DIGITS:
        raise BadOrderId(raw[:40])
    return int(raw)


@dataclass(frozen=True, slots=True)
class Stale:
    """A form posted against a version the order has left."""

    posted_version: int
    changes: list[TimelineEntry]
    push_before: str
    push_now: str


def shippable(order: Order) -> list[tuple[Any, int]]:
    """Goods lines with something left to ship, and how much."""
    return [
        (line, open_quantity(line))
        for line in order.lines
        if line.type in GOODS and open_quantity(line) > 0
    ]


def render(
    request: Request,
    detail: OrderDetail,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    stale: Stale | None = None,
) -> HTMLResponse:
    """The order page; `errors` by form name, `values` the posted fields to show again."""
    order = detail.order
    query = request.query_params
    return page(
        request,
        "order_page.html",
        status=status,
        title=f"Order {order.id}",
        d=detail,
        o=order,
        shippable=shippable(order),
        retryable=order.push_status in RETRYABLE,
        actions=LineAction,
        errors=errors or {},
        values=values or {},
        stale=stale,
        done=DONE.get(query.get("done", "")) if status == 200 else None,
        mail=MAIL.get(query.get("mail", "")) if status == 200 else None,
    )
