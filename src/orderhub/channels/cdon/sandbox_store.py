"""The CDON sandbox's orders in memory: each `{OrderDetails, Invoices}` payload by OrderId, its
JSON text, and when each was last modified (what the list call filters and sorts on). Plain
Python: the list call filters on one timestamp and a country.

A list call's matching ids, in its order, are kept until the next write (the last
CACHED_LISTS of them): paging through one filter sorts once, then slices, and a page splices
the orders' JSON text as it is."""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from datetime import UTC, datetime

from orderhub.channels.cdon.sandbox_rows import Payload
from orderhub.channels.sandbox_store import compact_json

Predicate = Callable[[Payload], bool]
#: Whether an order (and when it was last modified) is on a list.
Keep = Callable[[Payload, datetime], bool]
#: How many list filters' ids the store keeps (each a list of ints).
CACHED_LISTS = 8


class CdonOrderStore:
    """The orders by OrderId, and when each was last modified. Thread-safe (`lock`)."""

    def __init__(self, payloads: Iterable[Payload]) -> None:
        self.lock = threading.RLock()
        self._orders: dict[int, Payload] = {}
        self._modified: dict[int, datetime] = {}
        self._texts: dict[int, str] = {}
        self._version = 0
        self._listed: OrderedDict[Hashable, tuple[int, list[int]]] = OrderedDict()
        for payload in payloads:
            self.save(payload)

    def save(self, payload: Payload) -> None:
        details = payload["OrderDetails"]
        order_id = int(details["OrderId"])
        with self.lock:
            self._orders[order_id] = payload
            self._modified[order_id] = _modified(details["LastModifiedDateUtc"])
            self._texts[order_id] = compact_json(payload)
            self._version += 1

    def get(self, order_id: int) -> Payload | None:
        """A copy of the order (changes go through `save`)."""
        with self.lock:
            payload = self._orders.get(order_id)
            return None if payload is None else copy.deepcopy(payload)

    def by_modification(self, keep: Keep, key: Hashable, skip: int, take: int) -> list[str]:
        """The JSON texts of orders skip.. skip+take of those keep() accepts, by
        (LastModifiedDateUtc, OrderId); `key` names what keep() accepts (the same key, the
        same orders)."""
        with self.lock:
            ids = self._ids_by_modification(keep, key)
            return [self._texts[i] for i in ids[skip : skip + take]]

    def _ids_by_modification(self, keep: Keep, key: Hashable) -> list[int]:
        cached = self._listed.get(key)
        if cached is not None and cached[0] == self._version:
            self._listed.move_to_end(key)
            return cached[1]
        found = sorted((at, i) for i, at in self._modified.items() if keep(self._orders[i], at))
        ids = [i for _, i in found]
        self._listed[key] = (self._version, ids)
        while len(self._listed) > CACHED_LISTS:
            self._listed.popitem(last=False)
        return ids

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
