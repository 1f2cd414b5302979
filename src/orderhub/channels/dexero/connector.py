"""Dexero as a connector: the list calls a sync makes, and the cursor that makes them resumable.

The documented lists (`orders/pending`, `untreated`, `treated`) hold only orders in progress,
so a completed or cancelled order would drop out of sight. The hub reads `orders/all` (assumed,
docs/channels-dexero.md "Sync"): the same parameters, every order. Always with
`include_tests=true` and `include_forms=true`, so it sees everything the merchant has.

- **Full pull** (first sync, `--full`): every order by id window (`min_id=LAST+1`,
  `sort_key=id`): ids never change, so orders changing meanwhile cannot shift a page.
- **Time window** (every sync, after a full pull too): every order whose timestamp (its last
  change, `updated_date`, else its purchase) is at or after the watermark minus the overlap,
  sorted by it; each full page restarts at the last timestamp it saw (its ties read again).

The watermark of a fresh cursor is the channel's newest timestamp before the full pull starts
(one request), so every change made during the pull is read by the window after it, whatever
the two clocks say. The cursor, `{"full": {"after_id": N} | None, "since": ISO | None}`, is
yielded with every page; the sync engine commits it with the page.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from orderhub.channels.base import Account, Cursor, Fatal, OrderChange, Page, Skippable, Unsupported
from orderhub.channels.connector_base import ConnectorBase, Window
from orderhub.channels.dexero.client import MAX_COUNT, DexeroClient, DexeroPage
from orderhub.channels.dexero.codec import UPDATED_FIELD, decode_order, parse_time
from orderhub.channels.dexero.xmlcodec import UnreadableOrder
from orderhub.domain import Order

#: The list that holds every order (an assumption: the seed documents only the three below).
ALL_ORDERS = "all"
EVERYTHING = (("include_tests", "true"), ("include_forms", "true"))
BY_ID = "id"
#: Sort key of the time window (assumed, like `updated_date`); the seed's default sort key is
#: `purchasedTimestamp`.
BY_TIME = "updatedTimestamp"
PUSH_REFUSED = (
    "Dexero documents no write calls: the change is kept in the hub and not pushed "
    "(push_status: unsupported)"
)


class DexeroConnector(ConnectorBase[DexeroClient]):
    """One Dexero account: pull and fetch; Dexero has no acknowledgement, push or webhooks."""

    shape = "a Dexero order"
    no_webhooks = "Dexero documents no webhooks; its orders arrive by sync"
    largest_page = MAX_COUNT

    def __init__(self, account: Account, client: DexeroClient | None = None) -> None:
        super().__init__(account, client or DexeroClient.for_account(account))
        self.overlap = timedelta(seconds=account.overlap)

    # --- pulling -----------------------------------------------------------------------------

    def pull(self, cursor: Cursor | None) -> Iterator[Page]:
        state = dict(cursor) if cursor else self._fresh_cursor()
        if state.get("full"):
            yield from self._full(state)
        yield from self._window(state)

    def _fresh_cursor(self) -> Cursor:
        newest = self._list([("sort_key", BY_TIME)], count=1, order="desc").orders
        return {"full": {"after_id": 0}, "since": _timestamp_text(newest[0]) if newest else None}

    def _full(self, state: Cursor) -> Iterator[Page]:
        while state["full"] is not None:
            after = int(state["full"]["after_id"])
            answer = self._list([("min_id", str(after + 1)), ("sort_key", BY_ID)])
            if answer.orders:
                state["full"] = {"after_id": _keyset_id(answer.orders[-1])}
            if len(answer.orders) < self.page_size:
                state["full"] = None
            yield self.page(answer.orders, _copy(state), answer.total)

    def _window(self, state: Cursor) -> Iterator[Page]:
        since = state.get("since")
        window = Window(None if since is None else _minus(since, self.overlap), 0, self.page_size)
        while True:
            params = [("sort_key", BY_TIME)]
            if window.start is not None:
                params.append(("earliest_time", window.start))
            answer = self._list(params, offset=window.position)
            last = _latest(answer.orders)
            if last is not None and (since is None or _later(last, since)):
                state["since"] = since = last
            yield self.page(answer.orders, _copy(state))
            if len(answer.orders) < self.page_size:
                return
            window.advance(last, _later)

    def _list(
        self, params: list[tuple[str, str]], *, offset: int = 0, count: int = 0, order: str = "asc"
    ) -> DexeroPage:
        paging = [
            ("sort_dir", order),
            ("count", str(count or self.page_size)),
            ("offset", str(offset)),
        ]
        return self.client.list_orders(ALL_ORDERS, [*params, *EVERYTHING, *paging])

    def unreadable(self, payload: Any) -> Skippable | None:
        if isinstance(payload, UnreadableOrder):
            return Skippable(payload.reason, payload.xml, payload.order_id)
        return None

    def decode_one(self, payload: Any) -> Order:
        return decode_order(payload, channel=self.account.name)

    def readable_id(self, payload: Any) -> str | None:
        value = payload.get("id") if isinstance(payload, dict) else None
        return None if value is None else str(value)

    def get_order(self, external_id: str) -> Any:
        """`orders/{id}` with `include_forms=true`, as the lists are read."""
        return self.client.get_order(external_id, [EVERYTHING[1]])

    def push(self, change: OrderChange) -> None:
        raise Unsupported(f"order {change.external_id}: {PUSH_REFUSED}")


def _copy(cursor: Cursor) -> Cursor:
    full = cursor.get("full")
    return {"full": dict(full) if full else None, "since": cursor.get("since")}


def _timestamp(payload: Any) -> datetime | None:
    """An order's timestamp (its last change, else its purchase), or None if unreadable."""
    if not isinstance(payload, dict):
        return None
    try:
        value = payload.get(UPDATED_FIELD) or payload.get("purchase_date")
        return parse_time(value)
    except ValueError:
        return None


def _timestamp_text(payload: Any) -> str | None:
    at = _timestamp(payload)
    return None if at is None else at.isoformat()


def _latest(payloads: Sequence[Any]) -> str | None:
    times = [t for t in (_timestamp(p) for p in payloads) if t is not None]
    return max(times).isoformat() if times else None


def _later(a: str, b: str) -> bool:
    return datetime.fromisoformat(a) > datetime.fromisoformat(b)


def _minus(iso: str, delta: timedelta) -> str:
    return (datetime.fromisoformat(iso) - delta).isoformat()


def _keyset_id(payload: Any) -> int:
    value = payload.get("id") if isinstance(payload, dict) else None
    if value is None and isinstance(payload, UnreadableOrder):
        value = payload.order_id
    if isinstance(value, bool) or not str(value).isdigit():
        raise Fatal(f"Dexero: a listed order has no id, so paging cannot go on ({value!r})")
    return int(str(value))
