"""The Dexero sandbox's orders: an in-memory SQLite table of the values its list calls filter and
sort on, each order's Dexero JSON text beside it (`SqlOrderStore`: in a dict, or from a
snapshot on disk), with and without its forms (a snapshot keeps the text without them and the
forms apart: the full text is put together when read).

Dexero's filters (a list's statuses, test orders, a time window, an id window, an e-mail, the
presence of a custom field or attribute in any product) and its two timestamp sort keys run in
SQL; a sort by any other field of the Order object reads that field from the matching orders'
JSON (the seed allows it; nothing pages that way in bulk). A list call's matching ids, in its
order, are kept until the next write (`ordered_ids`): paging sorts once, then slices.
docs/performance.md, "Sandboxes", has the figures.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, MetaData, String, Table, literal_column, select
from sqlalchemy.sql.elements import ColumnElement

from orderhub.channels.dexero.sandbox_orders import Payload, loads
from orderhub.channels.dexero.sandbox_payload import UPDATED as UPDATED_FIELD
from orderhub.channels.dexero.sandbox_payload import read_time
from orderhub.channels.sandbox_store import (
    SqlOrderStore,
    compact_json,
    exact_loads,
    micros,
    texts_of,
)
from orderhub.domain.jsonfmt import dumps

_metadata = MetaData()
dexero_orders = Table(
    "dexero_orders",
    _metadata,
    Column("id", BigInteger, primary_key=True),
    Column("status", String, nullable=False),  # lower case
    Column("test", Boolean, nullable=False),
    Column("email", String, nullable=False),  # lower case
    #: purchase_date in microseconds since the epoch.
    Column("purchased", BigInteger, nullable=False),
    #: What `earliest_time`/`latest_time` read: its last change (updated_date), else purchase.
    Column("stamp", BigInteger, nullable=False),
    #: The (identifier, value) pairs of every product's custom_param / attribute, a JSON array.
    Column("custom_params", String, nullable=False),
    Column("attributes", String, nullable=False),
    Column("reference_number", String, nullable=True),
)
C = dexero_orders.c
#: The table's insertion order (a dict's, as the store kept its orders before).
ROWID: ColumnElement[int] = literal_column("dexero_orders.rowid")


def row(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The table row of an order."""
    purchased = read_time(payload["purchase_date"])
    updated = payload.get(UPDATED_FIELD)
    products = payload.get("product") or []
    number = payload.get("reference_number")
    return {
        "id": int(payload["id"]),
        "status": str(payload["status"]).lower(),
        "test": bool(payload.get("is_test")),
        "email": str(payload.get("customer_email") or "").lower(),
        "purchased": micros(purchased),
        "stamp": micros(purchased if updated is None else read_time(updated)),
        "custom_params": _pairs(products, "custom_param"),
        "attributes": _pairs(products, "attribute"),
        "reference_number": number if isinstance(number, str) else None,
    }


def _pairs(products: Iterable[Any], key: str) -> str:
    pairs = {
        (str(item.get("identifier")), str(item.get("value")))
        for product in products
        for item in product.get(key) or []
    }
    return json.dumps(sorted(pairs))


def shown(payload: Payload, include_forms: bool) -> Payload:
    """An order as answered: its forms only when asked for (`include_forms`, default false)."""
    if include_forms:
        return payload
    return {key: value for key, value in payload.items() if key != "order_form"}


def _without_forms(payload: Payload) -> Payload:
    return shown(payload, False)


#: A snapshot's order text (`DexeroStore.stored`): the text without forms, then its forms.
_WITH_FORMS = "text || coalesce(char(1) || summary, '')"


def with_forms(stored: str) -> str:
    """An order's text from what a snapshot keeps of it (`_WITH_FORMS`): its forms put back
    where the sandbox writes them, right before "product"."""
    without, _, forms = stored.partition("\x01")
    at = without.index(',"product":[')
    return f'{without[:at]},"order_form":[{forms}]{without[at:]}'


#: Sort keys with names of their own; any other Order field name sorts by that field.
PURCHASED = "purchasedTimestamp"
UPDATED = "updatedTimestamp"
_TIMESTAMPS = {PURCHASED: C.purchased, UPDATED: C.stamp}


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
    #: SQL conditions on the table (`sandbox_listing` makes them from the parameters).
    conditions: list[ColumnElement[bool]] = field(default_factory=list)
    #: The parameters `conditions` were made from, (name, value) sorted: with the fields
    #: above, what names the selection's rows (`DexeroStore` keeps their ids by it).
    filters: tuple[tuple[str, str], ...] = ()

    @property
    def rows_key(self) -> tuple[Any, ...]:
        """What the matching rows and their order depend on (not the page asked for)."""
        tests = self.include_tests
        return (self.statuses, self.sort_key, self.descending, tests, self.filters)

    def where(self) -> list[ColumnElement[bool]]:
        where = list(self.conditions)
        if self.statuses is not None:
            where.append(C.status.in_(sorted(self.statuses)))
        if not self.include_tests:
            where.append(C.test.is_(False))
        return where


class DexeroStore(SqlOrderStore):
    """Thread-safe: the API, the life ticker and tests may touch it at once."""

    def __init__(self) -> None:
        super().__init__(dexero_orders, C.id, row, _without_forms)

    def stored(self, payload: Payload) -> tuple[Any, ...]:
        """What a snapshot keeps of an order: its row, its text without forms (what lists show
        by default) and its forms' JSON (the items of its order_form, None when it has none):
        each text once (`with_forms` makes the full one when read)."""
        *values, _, without = super().stored(payload)
        forms = compact_json(payload.get("order_form") or [])[1:-1]
        return (*values, without, forms or None)

    def snapshot_texts(self, texts: Any) -> tuple[MutableMapping[int, str], Any]:
        """A snapshot's texts (with forms, made when read) and its texts without forms."""
        return texts.column(_WITH_FORMS, with_forms), texts.column("text")

    def save(self, payload: Payload) -> None:
        """Store a changed order, or a new one (as JSON written and read back)."""
        copied = loads(dumps(payload))
        with self.lock:
            if int(copied["id"]) in self.texts:
                super().save(copied)
            else:
                self.insert([copied])

    def by_number(self, number: str) -> Payload | None:
        """The order whose order number (`reference_number`) is `number` (the first stored)."""
        query = select(C.id).where(C.reference_number == number).order_by(ROWID).limit(1)
        with self.lock, self.engine.connect() as conn:
            found = conn.scalar(query)
        return None if found is None else self.get(found)

    def ids(self, statuses: Iterable[str]) -> list[int]:
        """The ids of the orders in `statuses`, in the order they were first stored."""
        query = select(C.id).where(C.status.in_(sorted(set(statuses)))).order_by(ROWID)
        with self.lock, self.engine.connect() as conn:
            return list(conn.scalars(query))

    def select(self, selection: Selection) -> tuple[int, list[Payload]]:
        """(how many orders match, the orders of the requested page as `shown`)."""
        total, texts = self.select_texts(selection)
        return total, [exact_loads(text) for text in texts]

    def select_texts(self, selection: Selection) -> tuple[int, list[str]]:
        """(how many orders match, the JSON text of each order of the page as `shown`)."""
        texts = self.texts if selection.include_forms else self.summaries
        with self.lock:
            ids = self._selection_ids(selection)
            page = ids[selection.offset : selection.offset + selection.count]
            return len(ids), texts_of(texts, page)

    def _selection_ids(self, selection: Selection) -> list[int]:
        timestamp = _TIMESTAMPS.get(selection.sort_key)
        if timestamp is None:
            return self.cached_ids(selection.rows_key, lambda: self._by_field(selection))
        order: tuple[Any, ...] = (timestamp, C.id)
        if selection.descending:
            order = (timestamp.desc(), C.id.desc())
        query = select(C.id).where(*selection.where()).order_by(*order)
        return self.ordered_ids(query, selection.rows_key)

    def _by_field(self, selection: Selection) -> list[int]:
        """The matching ids sorted by a field of the Order object, as the seed says: "if the
        field is not present on an input, the value of empty string is used" (a missing value
        sorts first); ties go by id."""
        query = select(C.id).where(*selection.where()).order_by(C.id)
        with self.engine.connect() as conn:
            ids = list(conn.scalars(query))
        name = selection.sort_key
        keyed = []
        for order_id, text in zip(ids, texts_of(self.texts, ids), strict=True):
            value = exact_loads(text).get(name)
            present = (0, "") if value is None or value == "" else (1, value)
            keyed.append((*present, order_id))
        keyed.sort(reverse=selection.descending)
        return [k[-1] for k in keyed]
