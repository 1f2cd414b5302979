"""MALL as a connector: which list calls a sync makes, and the cursor that makes them resumable.

MALL's list call carries full orders but leaves out blocked orders unless the request filters on
status, and then it gives ids only; it leaves out test orders unless it filters on `test`
(`test=in:0,1` keeps both). MALL orders carry no `updated` field: each status has its own
timestamp. So:

- **Full pull** (first sync, `--full`): every non-blocked order by id keyset
  (`id=gt:LAST&_sort=id:asc`, so orders changing meanwhile cannot shift a page), then the
  blocked ones (ids by keyset, then one detail call each: MALL offers no other way).
- **Windows** (every sync, after a full pull too): for each status, the orders whose timestamp
  for it is at or after the window's watermark minus the overlap, sorted by that timestamp.
  Every change MALL makes stamps a status timestamp, so this sees every status change, ties
  included (`ge`, and each page restarts at the last timestamp it saw).

A full pull starts the windows at the earlier of the hub's clock when it starts and the newest
status timestamp it read (kept in `full.newest`): with MALL's clock behind the hub's, MALL's own
newest stamp, so every change made after the pull is read however far the clocks differ.

The cursor (`{"full": {...} | None, "windows": {status: "YYYY-MM-DD HH:MM:SS"}}`) is yielded
with every page; the sync engine commits it with the page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from orderhub.channels.base import Account, Cursor, Fatal, OrderChange, Page, Unsupported
from orderhub.channels.connector_base import ConnectorBase, Window
from orderhub.channels.mall.client import MallClient, MallPage, ids_param
from orderhub.channels.mall.codec import MALL_ZONE, STATUS_MAP, TIME_FORMAT, decode_order
from orderhub.domain import Order, Status

#: Keeps test orders in a list call (MALL hides them unless the request filters on `test`).
BOTH_TEST = ("test", "in:0,1")
#: The largest page the sandbox (and so we) accept; MALL's client defaults to 100.
LARGEST_PAGE = 1000
#: Status timestamp windows, blocked last (it costs a detail call per order).
WINDOWS = (*(s for s in STATUS_MAP if s != "blocked"), "blocked")
_PHASES = ("listed", "blocked")


class MallConnector(ConnectorBase[MallClient]):
    """One MALL account: pull, fetch, confirm (acknowledge), push, webhook ids."""

    shape = "a MALL order object"
    largest_page = LARGEST_PAGE

    def __init__(
        self,
        account: Account,
        client: MallClient | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(account, client or MallClient.for_account(account))
        self.overlap = timedelta(seconds=account.overlap)
        self.now = now
        #: Orders this pull's full pull read within `overlap` of its newest timestamp, by id:
        #: the windows after it (which start there) pass them over when they are unchanged.
        self._recent: dict[str, Any] = {}

    # --- pulling -----------------------------------------------------------------------------

    def pull(self, cursor: Cursor | None) -> Iterator[Page]:
        self._recent = {}
        state = _fresh_cursor(self.now()) if not cursor else _copy(cursor)
        if state.get("full"):
            yield from self._full(state)
        yield from self._windows(state)

    def _full(self, state: Cursor) -> Iterator[Page]:
        full = state["full"]
        while full["phase"] in _PHASES:
            blocked = full["phase"] == "blocked"
            params = [("id", f"gt:{full['after_id']}"), ("_sort", "id:asc"), BOTH_TEST]
            answer = self._list([*params, ("status", "blocked")] if blocked else params)
            payloads = self.details(answer.data) if blocked else answer.data
            full["newest"] = _newest(payloads, full.get("newest"))
            self._remember(payloads, full["newest"])
            if answer.data:
                full["after_id"] = _keyset_id(answer.data[-1])
            if len(answer.data) < self.page_size:
                full["phase"] = _next_phase(full["phase"])
                full["after_id"] = 0
            if full["phase"] not in _PHASES:
                _start_windows(state["windows"], full["newest"])
                state["full"] = None
            yield self.page(payloads, _copy(state), answer.total)

    def _windows(self, state: Cursor) -> Iterator[Page]:
        for status in WINDOWS:
            window = Window(_minus(state["windows"][status], self.overlap), first=1, step=1)
            while True:
                start = window.start
                params = [(status, f"ge:{start}"), ("_sort", f"{status}:asc,id:asc"), BOTH_TEST]
                if status == "blocked":
                    params.append(("status", "blocked"))
                answer = self._list(params, window.position)
                payloads = self.details(answer.data) if status == "blocked" else answer.data
                last = _latest(payloads, status) or start
                state["windows"][status] = max(state["windows"][status], last)
                yield self.page([p for p in payloads if not self._read_before(p)], _copy(state))
                if len(answer.data) < self.page_size:
                    break
                window.advance(last)

    def _remember(self, payloads: Sequence[Any], newest: str | None) -> None:
        """Keep the orders read within `overlap` of the newest timestamp (a few), drop older."""
        if newest is None:
            return
        floor = _minus(newest, self.overlap)
        for payload in payloads:
            order_id = _readable_id(payload)
            if order_id is not None:
                self._recent[order_id] = payload
        self._recent = {i: p for i, p in self._recent.items() if (_stamp(p) or "") >= floor}

    def _read_before(self, payload: Any) -> bool:
        """This pull's full pull read the order just as it is now."""
        order_id = _readable_id(payload)
        return order_id is not None and self._recent.get(order_id) == payload

    def _list(self, params: list[tuple[str, str]], page: int = 1) -> MallPage:
        paging = [("page", str(page)), ("page_size", str(self.page_size))]
        return self.client.list_orders([*params, *paging])

    def get_order(self, external_id: Any) -> Any:
        """The full object of an order a list call gave as an id (blocked ones)."""
        return self.client.get_order(_id_of(external_id))

    def decode_one(self, payload: Mapping[str, Any]) -> Order:
        return decode_order(payload, channel=self.account.name)

    def readable_id(self, payload: Any) -> str | None:
        return _readable_id(payload)

    # --- the rest of the protocol -------------------------------------------------------------

    def fetch(self, external_ids: Sequence[str]) -> Page:
        """Listed orders in one call per page of ids; blocked ones (not listed) one by one."""
        payloads: list[Any] = []
        for start in range(0, len(external_ids), self.page_size):
            chunk = list(external_ids[start : start + self.page_size])
            listed = self._list([("id", ids_param(chunk)), BOTH_TEST]).data
            found = {str(_id_of(p)) for p in listed}
            payloads += listed + self.details([i for i in chunk if i not in found])
        return self.page(payloads, {})

    def unacknowledged(self) -> Iterator[list[str]]:
        """MALL's unconfirmed queue. Confirming drains it, so page 1 is read again until it
        holds only orders this run already tried (which then stay for the next run)."""
        tried: set[str] = set()
        page = 1
        while True:
            # Ids only, so the largest page costs little more than a small one.
            answer = self.client.unconfirmed(page, LARGEST_PAGE, [BOTH_TEST])
            fresh = [str(_id_of(item)) for item in answer.data]
            fresh = [i for i in fresh if i not in tried]
            if fresh:
                tried.update(fresh)
                yield fresh
            if not answer.data or answer.last:
                return
            if not fresh:
                page += 1

    def acknowledge(self, external_ids: Sequence[str]) -> None:
        for external_id in external_ids:
            self.client.confirm(external_id)

    def push(self, change: OrderChange) -> None:
        """Confirmation, status changes and tracking in the official client's form
        (docs/push-back.md); MALL's own rules apply. Confirming goes first: it is the one call
        MALL accepts twice, so a push repeated after a partial success never leaves it out."""
        if change.confirmed:
            self.client.confirm(change.external_id)
        tracking = change.tracking_number is not None or change.tracking_url is not None
        if change.status is not None:
            self.client.set_status(
                change.external_id,
                _mall_status(change.status),
                tracking_number=change.tracking_number,
                tracking_url=change.tracking_url,
                delivered_at=change.delivered_at,
                # The hub keeps no delivery attempts: the delivery is the first one it knows.
                first_delivery_attempt=change.delivered_at,
            )
        elif tracking:
            self.client.set_tracking(
                change.external_id, change.tracking_number, change.tracking_url
            )
        elif not change.confirmed:
            raise Unsupported("MALL: a change needs a status, tracking or confirmed")

    def webhook_ids(self, body: bytes, headers: Mapping[str, str]) -> list[str]:
        """MALL posts a JSON array of order ids."""
        import orjson

        try:
            ids = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"MALL webhook: expected a JSON array of order ids ({exc})") from exc
        if not isinstance(ids, list):
            raise ValueError("MALL webhook: expected a JSON array of order ids")
        return [str(_id_of(i)) for i in ids]


def _fresh_cursor(now: datetime) -> Cursor:
    """A full pull; the windows start when it starts, so they see every change made during it."""
    start = now.astimezone(MALL_ZONE).strftime(TIME_FORMAT)
    return {"full": {"phase": _PHASES[0], "after_id": 0}, "windows": dict.fromkeys(WINDOWS, start)}


def _copy(cursor: Cursor) -> Cursor:
    full = cursor.get("full")
    return {"full": dict(full) if full else None, "windows": dict(cursor["windows"])}


def _next_phase(phase: str) -> str:
    index = _PHASES.index(phase) + 1
    return _PHASES[index] if index < len(_PHASES) else "done"


def _minus(mall_time: str, delta: timedelta) -> str:
    return (datetime.strptime(mall_time, TIME_FORMAT) - delta).strftime(TIME_FORMAT)


def _newest(payloads: Sequence[Any], newest: str | None) -> str | None:
    """The newest status timestamp of any status in the payloads, or `newest` if later."""
    return max((t for t in (newest, *map(_stamp, payloads)) if t), default=None)


def _stamp(payload: Any) -> str | None:
    """The newest status timestamp of one payload (MALL times sort as text)."""
    if not isinstance(payload, Mapping):
        return None
    return max((v for s in WINDOWS if isinstance(v := payload.get(s), str) and v), default=None)


def _start_windows(windows: dict[str, str], newest: str | None) -> None:
    """No window starts after the newest timestamp the full pull read (MALL's clock may be
    behind the hub's, which set them)."""
    if newest:
        for status, start in windows.items():
            windows[status] = min(start, newest)


def _latest(payloads: Sequence[Any], status: str) -> str | None:
    """The latest value of a status timestamp in the payloads (MALL times sort as text)."""
    values = [p.get(status) for p in payloads if isinstance(p, Mapping)]
    return max((v for v in values if isinstance(v, str) and v), default=None)


def _id_of(item: Any) -> int:
    value = item.get("id") if isinstance(item, Mapping) else item
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise ValueError(f"expected a MALL order id, got {value!r}")
    return int(value)


def _keyset_id(item: Any) -> int:
    try:
        return _id_of(item)
    except ValueError as exc:
        raise Fatal(f"MALL: a listed order has no id, so paging cannot go on ({exc})") from exc


def _readable_id(payload: Any) -> str | None:
    try:
        return str(_id_of(payload))
    except ValueError:
        return None


def _mall_status(status: Status) -> str:
    for name, canonical in STATUS_MAP.items():
        if canonical is status:
            return name
    raise Unsupported(f"MALL has no status for {status.value!r}")
