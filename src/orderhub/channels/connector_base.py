"""What every connector does the same way, so `channels/<name>/connector.py` keeps only its
channel's calls, shapes and rules (as a Singer SDK stream keeps only its own).

`ConnectorBase` owns the `Connector` protocol's plumbing: the client and its request counts,
decoding a page's records into orders and quarantined records, fetching orders one detail call
each (gone ones left out), the pages it yields with their cursor, and the calls a channel may
not have (acknowledgement, webhooks). `Window` owns the paging rule of every incremental pull:
after a full page, restart at the last timestamp read (its ties are read again, and an order
that changes meanwhile cannot shift a page), unless the whole page shares the window's start:
then page on within it.

A channel subclass sets `shape` (what a record should be, for the quarantine's reason) and
implements `decode_one` and `readable_id`; it overrides what its channel does differently.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from orderhub.channels.base import (
    MAX_RECORD_DEPTH,
    Account,
    ChannelNotFound,
    Cursor,
    LineChange,
    Page,
    RequestStats,
    Skippable,
    Unsupported,
    nesting_depth,
)
from orderhub.channels.http import ChannelHttp
from orderhub.domain import Order


class OrderClient(Protocol):
    """What the base needs of a channel's client: its HTTP layer, one order, closing."""

    @property
    def http(self) -> ChannelHttp: ...

    def get_order(self, order_id: int | str) -> Any: ...

    def close(self) -> None: ...


ClientT = TypeVar("ClientT", bound=OrderClient)


class ConnectorBase(Generic[ClientT]):
    """One channel account over its client; subclasses add pull and push."""

    #: What a record should be, as the quarantine's reason says it ("a MALL order object").
    shape: ClassVar[str] = "an order"
    #: Why webhook_ids refuses (a channel that sends webhooks overrides webhook_ids).
    no_webhooks: ClassVar[str] = "the channel sends no webhooks; the hub polls it"
    #: The most orders a list call of the channel returns: `page_size` is the account's page
    #: size, at most this.
    largest_page: ClassVar[int]

    def __init__(self, account: Account, client: ClientT) -> None:
        self.account = account
        self.client = client
        self.stats: RequestStats = client.http.stats
        self.page_size = max(1, min(account.page_size, self.largest_page))

    # --- what a channel fills in ---------------------------------------------------------------

    def decode_one(self, payload: Mapping[str, Any]) -> Order:
        """One record as a canonical order; ValueError when it is not one."""
        raise NotImplementedError

    def readable_id(self, payload: Any) -> str | None:
        """The record's order id when it has a readable one (kept with a quarantined record)."""
        raise NotImplementedError

    def unreadable(self, payload: Any) -> Skippable | None:
        """A record the client already knows it could not read (Dexero's bad XML), else None."""
        return None

    def get_order(self, external_id: str) -> Any:
        """One order's detail call (ChannelNotFound when the channel does not know it)."""
        return self.client.get_order(external_id)

    # --- shared --------------------------------------------------------------------------------

    def decode(self, payloads: Sequence[Any]) -> tuple[list[Order], list[Skippable]]:
        """Orders, and the records that are not the channel's orders (for the quarantine)."""
        orders: list[Order] = []
        skipped: list[Skippable] = []
        for payload in payloads:
            unreadable = self.unreadable(payload)
            if unreadable is not None:
                skipped.append(unreadable)
                continue
            try:
                if not isinstance(payload, Mapping):
                    raise ValueError(f"expected {self.shape}, got {type(payload).__name__}")
                if nesting_depth(payload, MAX_RECORD_DEPTH) > MAX_RECORD_DEPTH:
                    raise ValueError(f"{self.shape} nested deeper than {MAX_RECORD_DEPTH} levels")
                orders.append(self.decode_one(payload))
            except ValueError as exc:
                skipped.append(Skippable(str(exc), payload, self.readable_id(payload)))
        return orders, skipped

    def page(
        self,
        payloads: Sequence[Any],
        cursor: Cursor,
        total: int | None = None,
        skipped: Sequence[Skippable] = (),
    ) -> Page:
        """A page of the decoded payloads, carrying `cursor` (the caller's copy to commit)."""
        orders, undecoded = self.decode(payloads)
        return Page(orders, [*skipped, *undecoded], cursor, total)

    def details(self, external_ids: Sequence[Any]) -> list[Any]:
        """One detail call per order; an order gone meanwhile is left out."""
        payloads = []
        for external_id in external_ids:
            try:
                payloads.append(self.get_order(external_id))
            except ChannelNotFound:
                continue
        return payloads

    # --- the protocol's calls a channel may not have ---------------------------------------------

    def fetch(self, external_ids: Sequence[str]) -> Page:
        """One detail call per order; orders the channel does not know are left out."""
        return self.page(self.details(list(external_ids)), {})

    def unacknowledged(self) -> Iterator[list[str]]:
        """The channel keeps no queue of orders waiting to be acknowledged."""
        return iter(())

    def acknowledge(self, external_ids: Sequence[str]) -> None:
        """Nothing to tell the channel: it has no acknowledgement call."""

    def webhook_ids(self, body: bytes, headers: Mapping[str, str]) -> list[str]:
        raise Unsupported(self.no_webhooks)

    def push_lines(self, change: LineChange) -> None:
        """The channel has no per-line calls (the push handler may send the order's status)."""
        raise Unsupported(f"{self.account.type}: no call for a {change.action} of single lines")

    def close(self) -> None:
        self.client.close()


@dataclass(slots=True)
class Window:
    """Where a time window reads next: the timestamp it restarts at (None: from the start) and
    the page number or offset within it."""

    start: Any
    #: The first position: 1 for page numbers, 0 for offsets.
    first: int
    #: How far the next page is: 1 for page numbers, the page size for offsets.
    step: int
    position: int = -1

    def __post_init__(self) -> None:
        if self.position < 0:
            self.position = self.first

    def advance(self, last: Any, later: Callable[[Any, Any], bool] = operator.gt) -> None:
        """After a full page whose last timestamp is `last` (None: unreadable): restart there,
        unless it is not after the start (the whole page shares one): then page on."""
        if last is not None and (self.start is None or later(last, self.start)):
            self.start, self.position = last, self.first
        else:
            self.position += self.step
