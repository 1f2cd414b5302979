"""CDON as a connector: an incremental pull over LastModifiedDateUtc, and push-back per row.

**Pull.** `GET api/order/` filters `DateTimeRangeMin/Max` on LastModifiedDateUtc and lists
orders by (LastModifiedDateUtc, OrderId) (docs/channels-cdon.md, "Sandbox"). A pull reads from
the cursor's watermark minus the account's overlap, with no upper bound, `take` orders a page,
until a short page or CDON's 404. After a full page it restarts at the page's last timestamp
with `skip=0` (its ties are read again), so an order that changes meanwhile (and moves to the
end of the listing) cannot shift a page over an order not yet read; only when a whole page shares
one timestamp does it page on with `skip`. The cursor (`{"since": <latest LastModifiedDateUtc
seen>}`) is yielded with every page; the sync engine commits it with the page.

**Push.** CDON changes orders per row, so `push` first fetches the order to learn its rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from orderhub.channels.base import (
    Account,
    Cursor,
    Fatal,
    LineChange,
    LineTarget,
    OrderChange,
    Page,
    Unsupported,
)
from orderhub.channels.cdon.client import MAX_TAKE, CdonClient
from orderhub.channels.cdon.codec import decode_order, format_time, parse_time
from orderhub.channels.cdon.states import COUNTRIES, country_name
from orderhub.channels.connector_base import ConnectorBase, Window
from orderhub.domain import Order, Status
from orderhub.domain.fulfilment import LineAction

Row = dict[str, Any]


class CdonConnector(ConnectorBase[CdonClient]):
    """One CDON account (one country): pull, fetch, push. CDON has no acknowledgement and no
    webhooks."""

    shape = "a CDON order object"
    largest_page = MAX_TAKE

    def __init__(self, account: Account, client: CdonClient | None = None) -> None:
        super().__init__(account, client or CdonClient.for_account(account))
        self.overlap = timedelta(seconds=account.overlap)
        self.country = country_of(account)

    # --- pulling -----------------------------------------------------------------------------

    def pull(self, cursor: Cursor | None) -> Iterator[Page]:
        since = parse_time(cursor["since"]) if cursor and cursor.get("since") else None
        window = Window(since - self.overlap if since is not None else None, 0, self.page_size)
        while True:
            payloads = self.client.list_orders(self._params(window))
            last = _latest_modified(payloads)
            if last is not None and (since is None or last > since):
                since = last
            yield self.page(payloads, {"since": format_time(since) if since else None})
            if len(payloads) < self.page_size:
                return
            if last is None:
                raise Fatal("CDON: a full page without LastModifiedDateUtc, paging cannot go on")
            window.advance(last)

    def _params(self, window: Window) -> list[tuple[str, str]]:
        params = [("CountryCode", self.country)] if self.country else []
        if window.start is not None:
            params.append(("DateTimeRangeMin", format_time(window.start)))
        return [*params, ("skip", str(window.position)), ("take", str(self.page_size))]

    def decode_one(self, payload: Any) -> Order:
        return decode_order(payload, channel=self.account.name)

    def readable_id(self, payload: Any) -> str | None:
        details = payload.get("OrderDetails") if isinstance(payload, dict) else None
        order_id = details.get("OrderId") if isinstance(details, dict) else None
        return str(order_id) if isinstance(order_id, int | str) and str(order_id) else None

    # --- pushing -------------------------------------------------------------------------------

    def push(self, change: OrderChange) -> None:
        """shipped: deliver every open row (tracking number as PackageId); cancelled: cancel
        them; returned: return every delivered row. Already there: nothing is sent. Nothing
        left to change, yet not there: every row is sent whole, so CDON says why it refuses."""
        if change.status is None or change.status not in _PLANS:
            wanted = change.status.value if change.status is not None else "tracking only"
            raise Unsupported(f"CDON: no call for {wanted!r} (shipped, cancelled, returned)")
        plan = _PLANS[change.status]
        payload = self.client.get_order(change.external_id)
        order_id = int(payload["OrderDetails"]["OrderId"])
        rows: list[Row] = payload["OrderDetails"].get("OrderRows") or []
        quantities = _quantities(rows, *plan)
        if not quantities:
            return
        self._send(_ACTION_OF[change.status], order_id, quantities, change.tracking_number)

    def push_lines(self, change: LineChange) -> None:
        """Each line as its row, with its quantity: `orderdelivery` (the tracking number as
        PackageId, the account's `package_carrier_id`), `ordercancel`, `orderreturn`. What a
        row already holds (a repeated push whose answer was lost) is not sent again."""
        payload = self.client.get_order(change.external_id)
        order_id = int(payload["OrderDetails"]["OrderId"])
        rows = payload["OrderDetails"].get("OrderRows") or []
        held = {str(row["OrderRowId"]): _n(row, _HELD[change.action]) for row in rows}
        wanted = [(int(line.line_id), quantity) for line in change.lines
                  if (quantity := _still_to_send(line, held.get(line.line_id))) > 0]  # fmt: skip
        if not wanted:
            return
        self._send(change.action, order_id, wanted, change.tracking_number)

    def _send(
        self, action: LineAction, order_id: int, rows: list[tuple[int, int]], package: str | None
    ) -> None:
        """One row call: (OrderRowId, quantity) pairs; a delivery in `package`."""
        if action is LineAction.SHIPMENT:
            carrier = self.account.options.get("package_carrier_id")
            self.client.deliver(order_id, [
                {"OrderRowId": row_id, "QuantityToDeliver": quantity,
                 "PackageId": package, "PackageCarrierId": carrier}
                for row_id, quantity in rows
            ])  # fmt: skip
        elif action is LineAction.CANCELLATION:
            self.client.cancel(order_id, [{"OrderRowId": i, "QuantityToCancel": q}
                                          for i, q in rows])  # fmt: skip
        else:
            self.client.return_rows(order_id, [{"OrderRowId": i, "QuantityToReturn": q}
                                               for i, q in rows])  # fmt: skip


#: The row call a status change is made with.
_ACTION_OF = {
    Status.SHIPPED: LineAction.SHIPMENT,
    Status.CANCELLED: LineAction.CANCELLATION,
    Status.RETURNED: LineAction.RETURN,
}
#: The row quantity each per-line action adds to.
_HELD = {
    LineAction.SHIPMENT: "DeliveredQuantity",
    LineAction.CANCELLATION: "CancelledQuantity",
    LineAction.RETURN: "ReturnedQuantity",
}


def _still_to_send(line: LineTarget, held: int | None) -> int:
    """The line's quantity, less what the row already holds beyond what it held before."""
    if held is None:
        return line.quantity  # no such row: sent, so CDON says so
    return min(line.quantity, line.total_after - held)


def _n(row: Row, key: str) -> int:
    return int(row.get(key) or 0)


def _undelivered(row: Row) -> int:
    return _n(row, "Quantity") - _n(row, "CancelledQuantity") - _n(row, "DeliveredQuantity")


def _unreturned(row: Row) -> int:
    return _n(row, "DeliveredQuantity") - _n(row, "ReturnedQuantity")


def _some_delivered(rows: list[Row]) -> bool:
    return any(_n(row, "DeliveredQuantity") for row in rows)


def _all_cancelled(rows: list[Row]) -> bool:
    return all(_n(row, "CancelledQuantity") >= _n(row, "Quantity") for row in rows)


def _some_returned(rows: list[Row]) -> bool:
    return any(_n(row, "ReturnedQuantity") for row in rows)


Left = Callable[[Row], int]
Reached = Callable[[list[Row]], bool]
#: Per change: the quantity of a row still to act on, and whether the order is already there.
_PLANS: dict[Status, tuple[Left, Reached]] = {
    Status.SHIPPED: (_undelivered, _some_delivered),
    Status.CANCELLED: (_undelivered, _all_cancelled),
    Status.RETURNED: (_unreturned, _some_returned),
}


def _quantities(rows: list[Row], left: Left, reached: Reached) -> list[tuple[int, int]]:
    """(OrderRowId, quantity) to send: what is left; nothing when the order is already there;
    every row whole when nothing is left yet the order is not there (CDON then says why)."""
    pending = [(int(row["OrderRowId"]), left(row)) for row in rows if left(row) > 0]
    if pending or reached(rows):
        return pending
    return [(int(row["OrderRowId"]), max(1, _n(row, "Quantity"))) for row in rows]


def country_of(account: Account) -> str | None:
    """The account's CountryCode: `options.country_code`, else the name's suffix (`cdon-se`
    -> Sweden), else none (every country)."""
    explicit = account.options.get("country_code")
    if isinstance(explicit, str) and explicit:
        return explicit
    suffix = account.name.rsplit("-", 1)[-1].upper()
    return country_name(suffix) if suffix in COUNTRIES.values() else None


def _latest_modified(payloads: Sequence[Any]) -> datetime | None:
    times = []
    for payload in payloads:
        details = payload.get("OrderDetails") if isinstance(payload, dict) else None
        try:
            times.append(parse_time(details.get("LastModifiedDateUtc")))  # type: ignore[union-attr]
        except (AttributeError, ValueError):
            continue
    return max(times, default=None)
