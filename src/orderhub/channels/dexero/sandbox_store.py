"""The Dexero sandbox's orders in memory: each Dexero JSON payload with the values its list
calls filter and sort on, and the selection those calls make.

Dexero's filters (presence of a custom field or attribute in any product, a time window, an id
window, an e-mail) and its "any field is a sort key" rule are plain Python over a few thousand
orders; no SQL needed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orderhub.channels.dexero.sandbox_orders import Payload, loads
from orderhub.channels.dexero.sandbox_payload import UPDATED as UPDATED_FIELD
from orderhub.channels.dexero.sandbox_payload import read_time
from orderhub.channels.sandbox_store import compact_json
from orderhub.domain.jsonfmt import dumps

#: How many list selections' rows the store keeps (each a list of references).
CACHED_SELECTIONS = 8


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


def shown(payload: Payload, include_forms: bool) -> Payload:
    """An order as answered: its forms only when asked for (`include_forms`, default false)."""
    if include_forms:
        return payload
    return {key: value for key, value in payload.items() if key != "order_form"}


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
    #: The parameters `conditions` were made from, (name, value) sorted: with the fields
    #: above, what names the selection's rows (`DexeroStore.select` keeps them by it).
    filters: tuple[tuple[str, str], ...] = ()

    @property
    def rows_key(self) -> tuple[Any, ...]:
        """What the matching rows and their order depend on (not the page asked for)."""
        tests = self.include_tests
        return (self.statuses, self.sort_key, self.descending, tests, self.filters)

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
    """Thread-safe: the API, the life ticker and tests may touch it at once.

    A list call's matching rows, in its order, are kept until the next write (the last
    CACHED_SELECTIONS of them): paging through one selection sorts once, then slices."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._rows: dict[int, Row] = {}
        self._version = 0
        self._selected: OrderedDict[tuple[Any, ...], tuple[int, list[Row]]] = OrderedDict()
        #: Each order's JSON as a list shows it, (id, include_forms) -> text: without its forms
        #: (what lists show by default) made when it is stored, with them when first listed.
        self._texts: dict[tuple[int, bool], str] = {}

    def insert(self, payloads: Iterable[Payload]) -> None:
        with self.lock:
            for payload in payloads:
                self._put(Row.of(payload))
            self._version += 1

    def save(self, payload: Payload) -> None:
        """Store a changed order (a copy of the dict, written and read back as JSON)."""
        with self.lock:
            self._put(Row.of(loads(dumps(payload))))
            self._version += 1

    def _put(self, row: Row) -> None:
        self._texts.pop((row.id, True), None)
        self._texts[(row.id, False)] = compact_json(shown(row.payload, False))
        self._rows[row.id] = row

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
            rows = self._selection_rows(selection)
            page = rows[selection.offset : selection.offset + selection.count]
            return len(rows), [row.payload for row in page]

    def select_texts(self, selection: Selection) -> tuple[int, list[str]]:
        """(how many orders match, the JSON text of each order of the page as `shown`)."""
        forms = selection.include_forms
        with self.lock:
            rows = self._selection_rows(selection)
            page = rows[selection.offset : selection.offset + selection.count]
            return len(rows), [self._text(row, forms) for row in page]

    def _text(self, row: Row, forms: bool) -> str:
        text = self._texts.get((row.id, forms))
        if text is None:
            text = self._texts[(row.id, forms)] = compact_json(shown(row.payload, forms))
        return text

    def _selection_rows(self, selection: Selection) -> list[Row]:
        key = selection.rows_key
        cached = self._selected.get(key)
        if cached is not None and cached[0] == self._version:
            self._selected.move_to_end(key)
            return cached[1]
        rows = [row for row in self._rows.values() if selection.matches(row)]
        rows.sort(key=selection.sort_value, reverse=selection.descending)
        self._selected[key] = (self._version, rows)
        while len(self._selected) > CACHED_SELECTIONS:
            self._selected.popitem(last=False)
        return rows
