"""The CDON sandbox's orders in memory: each `{OrderDetails, Invoices}` payload by OrderId, and
when each was last modified (what the list call filters and sorts on). Plain Python: the list
call filters on one timestamp and a country."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from orderhub.channels.cdon.sandbox_rows import Payload

Predicate = Callable[[Payload], bool]


class CdonOrderStore:
    """The orders by OrderId, and when each was last modified. Thread-safe (`lock`)."""

    def __init__(self, payloads: list[Payload]) -> None:
        self.lock = threading.RLock()
        self._orders: dict[int, Payload] = {}
        self._modified: dict[int, datetime] = {}
        for payload in payloads:
            self.save(payload)

    def save(self, payload: Payload) -> None:
        details = payload["OrderDetails"]
        with self.lock:
            self._orders[int(details["OrderId"])] = payload
            self._modified[int(details["OrderId"])] = _modified(details["LastModifiedDateUtc"])

    def get(self, order_id: int) -> Payload | None:
        """A copy of the order (changes go through `save`)."""
        with self.lock:
            payload = self._orders.get(order_id)
            return None if payload is None else copy.deepcopy(payload)

    def by_modification(
        self, keep: Callable[[Payload, datetime], bool], skip: int, take: int
    ) -> list[Payload]:
        """Orders skip.. skip+take of those keep() accepts, by (LastModifiedDateUtc, OrderId)."""
        with self.lock:
            found = sorted((at, i) for i, at in self._modified.items() if keep(self._orders[i], at))
            return [copy.deepcopy(self._orders[i]) for _, i in found[skip : skip + take]]

    def ids(self, where: Predicate) -> list[int]:
        with self.lock:
            return sorted(i for i, payload in self._orders.items() if where(payload))

    def all(self) -> list[Payload]:
        with self.lock:
            return [copy.deepcopy(self._orders[i]) for i in sorted(self._orders)]

    def count(self) -> int:
        with self.lock:
            return len(self._orders)

    def latest(self) -> datetime | None:
        with self.lock:
            return max(self._modified.values(), default=None)


def _modified(text: str) -> datetime:
    """The sandbox's own times (`sandbox_payload.cdon_time`), read back to the microsecond."""
    return datetime.strptime(text[:26], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC)
