"""The CS-Cart shop as a connector: the list calls a sync makes, and the cursor that makes them
resumable.

The shop's list call gives order summaries with `updated_at` (Unix seconds) and filters on it
(`updated_at_from`, inclusive); the details come one order at a time from `GET /orders/{id}`.
It leaves Incomplete (N) orders out unless the request asks for status N. So a pull reads two
windows, each sorted by `updated_at` ascending from its watermark minus the overlap:

- `listed`: every order but the Incomplete ones (the list's default),
- `incomplete`: `status=N`.

Every change the shop makes moves `updated_at`, so the windows see every change, ties included:
`updated_at_from` is inclusive, and each page restarts at the last `updated_at` it saw (unless
the whole page shares one: then it pages on within it). Restarting, rather than paging on, also
keeps an order that changes mid-pull (and so moves to the end) from shifting an unread order
onto a page already read. The first pull is the same windows from 0.

The cursor (`{"since": {"listed": UNIX, "incomplete": UNIX}}`) is yielded with every page;
the sync engine commits it with the page.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from orderhub.channels.base import (
    Account,
    Cursor,
    Fatal,
    LineChange,
    OrderChange,
    Page,
    Skippable,
    Unsupported,
)
from orderhub.channels.connector_base import ConnectorBase, Window
from orderhub.channels.cscart.client import CsCartClient, CsCartList
from orderhub.channels.cscart.codec import DEFAULT_CURRENCY, decode_order, status_letter_for
from orderhub.channels.fields import whole_number
from orderhub.domain import Order, Status
from orderhub.domain.fulfilment import LineAction

#: The largest page the sandbox (and so we) ask for.
LARGEST_PAGE = 1000
#: Window name -> the extra list parameters that select it.
WINDOWS: dict[str, tuple[tuple[str, str], ...]] = {"listed": (), "incomplete": (("status", "N"),)}


class CsCartConnector(ConnectorBase[CsCartClient]):
    """One CS-Cart shop: pull, fetch, push; no acknowledgement queue and no webhooks."""

    shape = "order details"
    largest_page = LARGEST_PAGE
    no_webhooks = "CS-Cart sends no webhooks: changes arrive with the next sync"

    def __init__(self, account: Account, client: CsCartClient | None = None) -> None:
        super().__init__(account, client or CsCartClient.for_account(account))
        self.overlap = int(account.overlap)
        self.currency = str(account.options.get("currency") or DEFAULT_CURRENCY)

    # --- pulling -----------------------------------------------------------------------------

    def pull(self, cursor: Cursor | None) -> Iterator[Page]:
        state = _copy(cursor) if cursor else _fresh_cursor()
        for name in WINDOWS:
            yield from self._window(name, state)

    def _window(self, name: str, state: Cursor) -> Iterator[Page]:
        since = state["since"]
        window = Window(max(0, since[name] - self.overlap), first=1, step=1)
        while True:
            answer = self._list(name, window)
            summaries, unreadable = _split(answer.orders)
            last = max((stamp for _, stamp in summaries), default=window.start)
            since[name] = max(since[name], last)
            payloads = self.details([order_id for order_id, _ in summaries])
            yield self.page(payloads, _copy(state), answer.total_items, unreadable)
            if len(answer.orders) < self.page_size:
                return
            window.advance(last)

    def _list(self, name: str, window: Window) -> CsCartList:
        params = [
            *WINDOWS[name],
            ("updated_at_from", str(window.start)),
            ("sort_by", "updated_at"),
            ("sort_order", "asc"),
            ("page", str(window.position)),
            ("items_per_page", str(self.page_size)),
        ]
        return self.client.list_orders(params)

    def decode_one(self, payload: Mapping[str, Any]) -> Order:
        return decode_order(payload, channel=self.account.name, currency=self.currency)

    def readable_id(self, payload: Any) -> str | None:
        value = whole_number(payload.get("order_id")) if isinstance(payload, Mapping) else None
        return None if value is None else str(value)

    # --- pushing -------------------------------------------------------------------------------

    def push(self, change: OrderChange) -> None:
        """One `PUT /orders/{id}`: the status letter (with `notify_user`) and/or `vendor_ref`.
        The shop's refusal (400) is Fatal with its message; no such order, ChannelNotFound."""
        self.client.update_order(change.external_id, _fields(change))

    def push_lines(self, change: LineChange) -> None:
        """A shipment is `POST /shipments` with its items and quantities (and `order_status`
        C once nothing is left to ship); what the shop's shipments already hold (a repeated
        push) is not sent again. The shop has no call for cancelling or returning single
        items (Unsupported: the order's status is pushed once they complete it)."""
        if change.action is not LineAction.SHIPMENT:
            super().push_lines(change)
        shipped: dict[str, int] = {}
        for shipment in self.client.shipments(change.external_id):
            for item, quantity in (shipment.get("products") or {}).items():
                shipped[str(item)] = shipped.get(str(item), 0) + int(quantity)
        products = {
            line.line_id: sent
            for line in change.lines
            if (sent := min(line.quantity, line.total_after - shipped.get(line.line_id, 0))) > 0
        }
        if not products:
            return
        fields: dict[str, Any] = {
            "order_id": change.external_id,
            "products": products,
            "carrier": change.carrier or "",
            "tracking_number": change.tracking_number or "",
            "status": "S",
        }
        if change.status is Status.SHIPPED:
            fields["order_status"] = status_letter_for(Status.SHIPPED)
        self.client.create_shipment(fields)


def _fields(change: OrderChange) -> dict[str, str]:
    """The PUT body of a change. Tracking is not sent: CS-Cart keeps it in shipments, which
    seed 002's API does not offer."""
    fields: dict[str, str] = {}
    if change.status is not None:
        try:
            fields["status"] = status_letter_for(change.status)
        except ValueError as exc:
            raise Unsupported(f"CS-Cart: {exc}") from exc
        fields["notify_user"] = "1" if change.notify_user else "0"
    if change.vendor_ref is not None:
        fields["vendor_ref"] = change.vendor_ref
    if not fields:
        raise Unsupported("CS-Cart: a change needs a status or a vendor_ref")
    return fields


def _split(items: Sequence[Any]) -> tuple[list[tuple[str, int]], list[Skippable]]:
    """(order id, updated_at) of each summary, and the summaries without them."""
    readable: list[tuple[str, int]] = []
    unreadable: list[Skippable] = []
    for item in items:
        order_id = whole_number(item.get("order_id")) if isinstance(item, Mapping) else None
        stamp = whole_number(item.get("updated_at")) if isinstance(item, Mapping) else None
        if order_id is None or stamp is None:
            reason = "a CS-Cart order summary without a numeric order_id and updated_at"
            unreadable.append(Skippable(reason, item, None if order_id is None else str(order_id)))
        else:
            readable.append((str(order_id), stamp))
    return readable, unreadable


def _fresh_cursor() -> Cursor:
    return {"since": dict.fromkeys(WINDOWS, 0)}


def _copy(cursor: Cursor) -> Cursor:
    since = cursor.get("since")
    if not isinstance(since, Mapping) or set(since) != set(WINDOWS):
        raise Fatal(f"CS-Cart: the stored cursor is not this connector's ({cursor!r}); sync --full")
    return {"since": {window: int(since[window]) for window in WINDOWS}}
