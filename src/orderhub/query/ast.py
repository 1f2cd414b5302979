"""The parsed form of a query: filters, sort, page and view. Validated, typed, SQL-free."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from orderhub.domain import QUERY_FIELDS, ScalarField
from orderhub.query.values import Value

#: Which fields a query may name, with their types: the canonical order's (and its tags) by
#: default; a channel sandbox passes its own (MALL's fields) to reuse the language.
Fields = Mapping[str, ScalarField]


@dataclass(frozen=True, slots=True)
class Filter:
    """One `field=modifier:value` condition. `values` is empty when the value is `$null`."""

    field: str
    operator: str
    values: tuple[Value, ...]
    raw: str

    @property
    def is_null(self) -> bool:
        return not self.values


@dataclass(frozen=True, slots=True)
class SortKey:
    field: str
    descending: bool = False

    def __str__(self) -> str:
        return f"{self.field}:{'desc' if self.descending else 'asc'}"


@dataclass(frozen=True, slots=True)
class After:
    """Where a keyset page starts: the sort values of the last row already seen."""

    values: tuple[Value | None, ...]
    page: int
    #: paging.total as counted on the walk's first page: deep pages are not counted again.
    total: int | None = None


class View(StrEnum):
    FULL = "full"
    BASIC = "basic"


class Count(StrEnum):
    """How a list counts its matches (`count=`, docs/query-language.md)."""

    EXACT = "exact"
    ESTIMATED = "estimated"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class OrderQuery:
    filters: tuple[Filter, ...]
    sort: tuple[SortKey, ...]
    page: int
    page_size: int
    view: View
    after: After | None = None
    #: Filters added by the default visibility rules (pending and test orders hidden).
    implicit: tuple[Filter, ...] = ()
    #: The free-text terms of `q=` (each must appear in the order's searchable text).
    search: tuple[str, ...] = ()
    count: Count = Count.EXACT
    #: `fields=`: the keys of each order object, in this order (None: the view's whole object).
    picked: tuple[str, ...] | None = None
    fields: Fields = field(default_factory=lambda: QUERY_FIELDS, compare=False, repr=False)

    def filters_on(self, field: str) -> bool:
        return any(f.field == field for f in self.filters)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size
