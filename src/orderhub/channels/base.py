"""What every channel connector implements, and the errors it may raise.

A connector is one channel account seen from the hub: it pulls pages of canonical orders since
a cursor, fetches orders by id, acknowledges orders once the hub has stored them, pushes a
merchant's change back, and turns a channel's webhook into the ids to fetch. The sync engine
(`services/sync.py`) drives it; only the connector knows the channel's HTTP, paging and JSON.

ChannelError                  anything a channel call fails with
├── Fatal                     stop this account's run: credentials refused, a 4xx that repeating
│   │                         cannot fix, a response that is not the channel's shape
│   ├── Unsupported           the channel has no call for what was asked (e.g. Dexero push)
│   └── ChannelNotFound       the channel says the order (or resource) does not exist
├── Retriable                 worth repeating: 429, 5xx, timeouts, connection resets, truncated
│   │                         bodies; `retry_after` seconds when the channel said so
│   └── QuotaExhausted        the request budget is spent for longer than a run waits
└── Skippable                 one record cannot be decoded: the hub quarantines its raw payload
                              and the sync goes on (it travels in `Page.skipped`, not raised)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from orderhub.domain import Order, Status
from orderhub.domain.fulfilment import LineAction

#: A connector's resume point: JSON-serialisable, opaque to everyone but that connector.
Cursor = dict[str, Any]


class ChannelError(Exception):
    """Root of the errors a channel call can fail with."""


class Fatal(ChannelError):
    """Repeating will not help: the run stops (its committed pages stay)."""


class Unsupported(Fatal):
    """The channel has no API call for this operation."""


class ChannelNotFound(Fatal):
    """The channel answered 404 for a resource it should have."""


class Retriable(ChannelError):
    """A transient failure; `retry_after` is the channel's own wait in seconds, if it sent one."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class QuotaExhausted(Retriable):
    """The channel's request budget is spent until `retry_after` seconds from now."""


#: The deepest nesting a channel record may have (the channels' own are under 10 levels). A
#: deeper one is quarantined without its payload: the hub's JSON encoder, its decoders and
#: `copy.deepcopy` all recurse, and a hostile record must not exhaust the stack.
MAX_RECORD_DEPTH = 32


class Skippable(ChannelError):
    """One record that cannot be decoded, kept with its raw payload for the quarantine (a
    placeholder in its place when the payload nests deeper than MAX_RECORD_DEPTH)."""

    def __init__(self, reason: str, payload: Any, external_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        too_deep = nesting_depth(payload, MAX_RECORD_DEPTH) > MAX_RECORD_DEPTH
        self.payload = (
            f"(not kept: nested deeper than {MAX_RECORD_DEPTH} levels)" if too_deep else payload
        )
        self.external_id = external_id


def nesting_depth(value: Any, limit: int) -> int:
    """How deep lists and dicts nest in `value`, counted a level at a time without recursion;
    stops once past `limit` (returns limit + 1)."""
    level = [value] if isinstance(value, _CONTAINERS) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return limit + 1
        below: list[Any] = []
        for item in level:
            children = item.values() if isinstance(item, dict) else item
            below += [child for child in children if isinstance(child, _CONTAINERS)]
        level = below
    return depth


_CONTAINERS = (dict, list, tuple)


@dataclass(frozen=True, slots=True)
class Account:
    """One configured channel account (from orderhub.toml), as a connector needs it."""

    name: str
    type: str
    base_url: str
    credentials: Mapping[str, str] = field(default_factory=dict)
    page_size: int = 100
    timeout: float = 30.0
    max_attempts: int = 8
    #: How far back an incremental pull re-reads, in seconds, so equal timestamps are not skipped.
    overlap: float = 60.0
    #: The longest a run waits for a rate limit to reset before it stops with QuotaExhausted.
    max_pause: float = 120.0
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a pull: the decoded orders, the undecodable records, the cursor after it."""

    orders: list[Order]
    skipped: list[Skippable]
    cursor: Cursor
    #: The channel's count of records this pull will read in all, when it says so.
    total: int | None = None


@dataclass(frozen=True, slots=True)
class OrderChange:
    """A merchant's change to push back to the channel that owns the order."""

    external_id: str
    status: Status | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    delivered_at: datetime | None = None
    #: Ask the channel to e-mail the customer about the status change (CS-Cart `notify_user=1`);
    #: the hub then sends no e-mail of its own.
    notify_user: bool = False
    #: The merchant's own reference to set at the channel (CS-Cart `vendor_ref`); None: unchanged.
    vendor_ref: str | None = None
    #: The merchant acknowledged the order (MALL: `{"confirmed": true}`); False: nothing to say.
    confirmed: bool = False
    #: Who carries the parcel, sent with shipped where the channel takes one.
    carrier: str | None = None


@dataclass(frozen=True, slots=True)
class LineTarget:
    """One line of a per-line change: how many, and the line's total (delivered, cancelled or
    returned) once applied, so a repeated push sends nothing twice."""

    line_id: str
    quantity: int
    total_after: int


@dataclass(frozen=True, slots=True)
class LineChange:
    """A merchant's shipment, cancellation or return of single lines, to push back."""

    external_id: str
    action: LineAction
    #: The channel's own row or item ids, each with its quantity.
    lines: tuple[LineTarget, ...]
    #: The order's status once this action is applied (a channel may set it with the call).
    status: Status
    tracking_number: str | None = None
    tracking_url: str | None = None
    carrier: str | None = None
    reason: str | None = None


@dataclass(slots=True)
class RequestStats:
    """What a connector's HTTP layer has done so far (read by the sync metrics)."""

    requests: int = 0
    retries: int = 0
    waited: float = 0.0


class Connector(Protocol):
    """One channel account. Implementations live in `channels/<type>/connector.py`."""

    account: Account
    stats: RequestStats

    def pull(self, cursor: Cursor | None) -> Iterator[Page]:
        """Every order changed since `cursor` (all orders for None), page by page, to the end."""
        ...

    def fetch(self, external_ids: Sequence[str]) -> Page:
        """The current state of the named orders (the cursor of the page is left as it was)."""
        ...

    def unacknowledged(self) -> Iterator[list[str]]:
        """Batches of ids the channel waits to hear were received (MALL's unconfirmed queue)."""
        ...

    def acknowledge(self, external_ids: Sequence[str]) -> None:
        """Tell the channel these orders are stored in the hub (MALL: confirm them)."""
        ...

    def push(self, change: OrderChange) -> None:
        """Apply a merchant's change at the channel; Unsupported where the channel has no call."""
        ...

    def push_lines(self, change: LineChange) -> None:
        """Apply a per-line shipment, cancellation or return; Unsupported without such calls."""
        ...

    def webhook_ids(self, body: bytes, headers: Mapping[str, str]) -> list[str]:
        """The ids a channel's webhook announces; the hub then fetches them."""
        ...

    def close(self) -> None: ...
