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
    ChannelNotFound,
    Cursor,
    Fatal,
    OrderChange,
    Page,
    RequestStats,
    Skippable,
    Unsupported,
)
from orderhub.channels.cscart.client import CsCartClient, CsCartList
from orderhub.channels.cscart.codec import DEFAULT_CURRENCY, decode_order, status_letter_for
from orderhub.domain import Order

#: The largest page the sandbox (and so we) ask for.
LARGEST_PAGE = 1000
#: Window name -> the extra list parameters that select it.
WINDOWS: dict[str, tuple[tuple[str, str], ...]] = {"listed": (), "incomplete": (("status", "N"),)}


class CsCartConnector:
    """One CS-Cart shop: pull, fetch, push; no acknowledgement queue and no webhooks."""

    def __init__(self, account: Account, client: CsCartClient | None = None) -> None:
        self.account = account
        self.client = client or CsCartClient.for_account(account)
        self.stats: RequestStats = self.client.http.stats
        self.page_size = max(1, min(account.page_size, LARGEST_PAGE))
        self.overlap = int(account.overlap)
        self.currency = str(account.options.get("currency") or DEFAULT_CURRENCY)

    # --- pulling -----------------------------------------------------------------------------

    def pull(self, cursor: Cursor | None) -> Iterator[Page]:
        state = _copy(cursor) if cursor else _fresh_cursor()
        for window in WINDOWS:
            yield from self._window(window, state)

    def _window(self, window: str, state: Cursor) -> Iterator[Page]:
        since = state["since"]
        start = max(0, since[window] - self.overlap)
        page = 1
        while True:
            answer = self._list(window, start, page)
            summaries, unreadable = _split(answer.orders)
            last = max((stamp for _, stamp in summaries), default=start)
            since[window] = max(since[window], last)
            payloads = self._details([order_id for order_id, _ in summaries])
            yield self._page(payloads, unreadable, state, answer.total_items)
            if len(answer.orders) < self.page_size:
                return
            page, start = (page + 1, start) if last <= start else (1, last)

    def _list(self, window: str, start: int, page: int) -> CsCartList:
        params = [
            *WINDOWS[window],
            ("updated_at_from", str(start)),
            ("sort_by", "updated_at"),
            ("sort_order", "asc"),
            ("page", str(page)),
            ("items_per_page", str(self.page_size)),
        ]
        return self.client.list_orders(params)

    def _details(self, order_ids: Sequence[str]) -> list[Any]:
        """The details of each order; one gone meanwhile is left out."""
        payloads = []
        for order_id in order_ids:
            try:
                payloads.append(self.client.get_order(order_id))
            except ChannelNotFound:
                continue
        return payloads

    def _page(
        self, payloads: Sequence[Any], unreadable: list[Skippable], state: Cursor, total: int | None
    ) -> Page:
        orders, skipped = self.decode(payloads)
        return Page(orders, unreadable + skipped, _copy(state), total)

    def decode(self, payloads: Sequence[Any]) -> tuple[list[Order], list[Skippable]]:
        """Orders, and the records that are not CS-Cart orders (for the quarantine)."""
        orders: list[Order] = []
        skipped: list[Skippable] = []
        for payload in payloads:
            try:
                if not isinstance(payload, Mapping):
                    raise ValueError(f"expected order details, got {type(payload).__name__}")
                orders.append(
                    decode_order(payload, channel=self.account.name, currency=self.currency)
                )
            except ValueError as exc:
                skipped.append(Skippable(str(exc), payload, _readable_id(payload)))
        return orders, skipped

    # --- the rest of the protocol -------------------------------------------------------------

    def fetch(self, external_ids: Sequence[str]) -> Page:
        """The details of each order, one call each (the list cannot filter on ids)."""
        orders, skipped = self.decode(self._details(list(external_ids)))
        return Page(orders, skipped, {})

    def unacknowledged(self) -> Iterator[list[str]]:
        """CS-Cart keeps no queue of orders waiting to be acknowledged."""
        return iter(())

    def acknowledge(self, external_ids: Sequence[str]) -> None:
        """Nothing to tell the shop: it does not wait for the hub."""

    def push(self, change: OrderChange) -> None:
        """One `PUT /orders/{id}`: the status letter (with `notify_user`) and/or `vendor_ref`.
        The shop's refusal (400) is Fatal with its message; no such order, ChannelNotFound."""
        self.client.update_order(change.external_id, _fields(change))

    def webhook_ids(self, body: bytes, headers: Mapping[str, str]) -> list[str]:
        raise Unsupported("CS-Cart sends no webhooks: changes arrive with the next sync")

    def close(self) -> None:
        self.client.close()


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
        order_id = _number(item.get("order_id")) if isinstance(item, Mapping) else None
        stamp = _number(item.get("updated_at")) if isinstance(item, Mapping) else None
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


def _number(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def _readable_id(payload: Any) -> str | None:
    value = _number(payload.get("order_id")) if isinstance(payload, Mapping) else None
    return None if value is None else str(value)
