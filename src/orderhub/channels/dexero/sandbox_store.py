"""The Dexero sandbox's orders in memory: each Dexero JSON payload with the values its list
calls filter and sort on, and the selection those calls make.

Dexero's filters (presence of a custom field or attribute in any product, a time window, an id
window, an e-mail) and its "any field is a sort key" rule are plain Python over a few thousand
orders; no SQL needed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orderhub.channels.dexero.sandbox_orders import Payload, loads
from orderhub.channels.dexero.sandbox_payload import UPDATED as UPDATED_FIELD
from orderhub.channels.dexero.sandbox_payload import read_time
from orderhub.domain.jsonfmt import dumps


@dataclass(frozen=True, slots=True)
class Row:
    """One order and the values its filters read."""

    id: int
    status: str
    test: bool
    email: str
    purchased: datetime
    #: The order's timestamp for `earliest_time`/`latest_time`: its last change, else purchase.
    stamp: datetime
    custom_params: frozenset[tuple[str, str]]
    attributes: frozenset[tuple[str, str]]
    payload: Payload

    @classmethod
    def of(cls, payload: Payload) -> Row:
        purchased = read_time(payload["purchase_date"])
        updated = payload.get(UPDATED_FIELD)
        products = payload.get("product") or []
        return cls(
            id=int(payload["id"]),
            status=str(payload["status"]).lower(),
            test=bool(payload.get("is_test")),
            email=str(payload.get("customer_email") or "").lower(),
            purchased=purchased,
            stamp=purchased if updated is None else read_time(updated),
            custom_params=_pairs(products, "custom_param"),
            attributes=_pairs(products, "attribute"),
            payload=payload,
        )


def _pairs(products: Iterable[Any], key: str) -> frozenset[tuple[str, str]]:
    return frozenset(
        (str(item.get("identifier")), str(item.get("value")))
        for product in products
        for item in product.get(key) or []
    )


#: Sort keys with names of their own; any other Order field name sorts by that field.
PURCHASED = "purchasedTimestamp"
UPDATED = "updatedTimestamp"


@dataclass(frozen=True, slots=True)
class Selection:
    """What a list call asks for (parameters already validated)."""

    statuses: frozenset[str] | None = None
    count: int = 20
    offset: int = 0
    sort_key: str = PURCHASED
    descending: bool = False
    include_tests: bool = False
    include_forms: bool = False
    conditions: list[Callable[[Row], bool]] = field(default_factory=list)

    def matches(self, row: Row) -> bool:
        if self.statuses is not None and row.status not in self.statuses:
            return False
        if row.test and not self.include_tests:
            return False
        return all(condition(row) for condition in self.conditions)

    def sort_value(self, row: Row) -> tuple[Any, ...]:
        """The seed: "if the field is not present on an input, the value of empty string is
        used", so a missing value sorts first; ties go by id."""
        if self.sort_key == PURCHASED:
            return (row.purchased, row.id)
        if self.sort_key == UPDATED:
            return (row.stamp, row.id)
        value = row.payload.get(self.sort_key)
        present = (0, "") if value is None or value == "" else (1, value)
        return (*present, row.id)


class DexeroStore:
    """Thread-safe: the API, the life ticker and tests may touch it at once."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._rows: dict[int, Row] = {}

    def insert(self, payloads: Sequence[Payload]) -> None:
        with self.lock:
            for payload in payloads:
                self._rows[int(payload["id"])] = Row.of(payload)

    def save(self, payload: Payload) -> None:
        """Store a changed order (a copy of the dict, written and read back as JSON)."""
        with self.lock:
            self._rows[int(payload["id"])] = Row.of(loads(dumps(payload)))

    def get(self, order_id: int) -> Payload | None:
        with self.lock:
            row = self._rows.get(order_id)
        return None if row is None else loads(dumps(row.payload))

    def by_number(self, number: str) -> Payload | None:
        """The order whose order number (`reference_number`) is `number`."""
        with self.lock:
            found = [r for r in self._rows.values() if r.payload.get("reference_number") == number]
        return loads(dumps(found[0].payload)) if found else None

    def ids(self, statuses: Iterable[str]) -> list[int]:
        wanted = set(statuses)
        with self.lock:
            return [row.id for row in self._rows.values() if row.status in wanted]

    def all(self) -> list[Payload]:
        with self.lock:
            rows = sorted(self._rows.values(), key=lambda row: row.id)
        return [loads(dumps(row.payload)) for row in rows]

    def count(self) -> int:
        with self.lock:
            return len(self._rows)

    def select(self, selection: Selection) -> tuple[int, list[Payload]]:
        """(how many orders match, the payloads of the requested page). Payloads are shared:
        read them, do not change them."""
        with self.lock:
            rows = [row for row in self._rows.values() if selection.matches(row)]
        rows.sort(key=selection.sort_value, reverse=selection.descending)
        page = rows[selection.offset : selection.offset + selection.count]
        return len(rows), [row.payload for row in page]
