"""The orders list's query string (docs/web-orders.md): it IS the API's query language (the
parameters of `GET /v1/orders`, `view=` included) plus `preset=`. How the page resolves it
through the API's own services, shows it, links its pages and sorts, and builds it back from the
filter bar's inputs."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, quote, quote_plus, urlencode

from sqlalchemy import Engine

from orderhub.domain import QUERY_FIELDS, InvalidInput, PaymentStatus, Status
from orderhub.domain.clock import Clock
from orderhub.query import Count, OrderQuery, View, parse_query
from orderhub.query.parser import COUNT, RESERVED, SEARCH
from orderhub.query.saved import NOT_IN_VIEW, VIEW
from orderhub.services.exports import PAGING as EXPORT_REFUSES
from orderhub.services.order_presets import PRESET, preset_params
from orderhub.services.views import expand

Params = list[tuple[str, str]]
#: Where a page of the list starts: dropped whenever the query itself changes.
PAGING = ("cursor", "page")
#: Columns of the table, in order, and whether a header sorts by it.
COLUMNS = (
    ("id", "Id", True),
    ("channel", "Channel", True),
    ("external_id", "External id", True),
    ("created_at", "Created", True),
    ("customer", "Customer", True),
    ("status", "Status", True),
    ("payment_status", "Payment", True),
    ("total", "Total", True),
    ("tags", "Tags", False),
)


def list_url(
    params: Sequence[tuple[str, str]], path: str = "/orders", **changes: str | None
) -> str:
    """`path` with `params`, some set (None: removed), encoded as the API's Link headers are."""
    items = [(k, v) for k, v in params if k not in changes]
    items += [(k, v) for k, v in changes.items() if v is not None]
    return path + ("?" + encode(items) if items else "")


def encode(params: Iterable[tuple[str, str]]) -> str:
    # `:` and `$` stay readable (`status=in:open`, `$null`), as api/paging.py writes them.
    return urlencode(list(params), safe=":$", quote_via=quote)


def readable(params: Iterable[tuple[str, str]]) -> str:
    """A query string for people to read and edit: commas, `@` and spaces (`+`) as typed."""
    return urlencode(list(params), safe=":$,@", quote_via=quote_plus)


@dataclass(frozen=True, slots=True)
class Resolved:
    """A list query read through the API's services: what the API would be asked."""

    #: The API's parameters: the preset's filters in, `view=` kept (the API expands it).
    api: Params
    #: The same with the view's query put in (services/views.py `expand`).
    expanded: Params
    query: OrderQuery

    @property
    def filters_text(self) -> str:
        """The filters and `q` alone: a bulk job's query (services/jobs.py takes no more)."""
        return encode((n, v) for n, v in self.expanded if n not in RESERVED or n == SEARCH)

    @property
    def view_text(self) -> str:
        """What "save as a view" saves: the query without paging (query/saved.py)."""
        return encode((n, v) for n, v in self.expanded if n not in NOT_IN_VIEW)

    @property
    def json_url(self) -> str:
        return list_url(self.api, "/v1/orders")


@dataclass(frozen=True, slots=True)
class ListQuery:
    """The list page's parameters, as the URL gives them."""

    given: Params

    @classmethod
    def parse(cls, text: str) -> ListQuery:
        return cls(parse_qsl(text.strip().lstrip("?"), keep_blank_values=True))

    @property
    def preset(self) -> str | None:
        found = [v for n, v in self.given if n == PRESET]
        return found[0] if found else None

    @property
    def view(self) -> str | None:
        found = [v for n, v in self.given if n == VIEW]
        return found[0] if found else None

    @property
    def text(self) -> str:
        """The query string shown (and editable) on the page: all but where the page starts."""
        return readable((n, v) for n, v in self.given if n not in PAGING)

    def url(self, path: str = "/orders", **changes: str | None) -> str:
        return list_url(self.given, path, **changes)

    def api_params(self, clock: Clock) -> Params:
        """The API's parameters: `preset=` replaced by its filters."""
        presets = [v for n, v in self.given if n == PRESET]
        if len(presets) > 1:
            raise InvalidInput(PRESET, "at most one value")
        rest = [(n, v) for n, v in self.given if n != PRESET]
        return rest + (preset_params(presets[0], clock) if presets else [])

    def resolve(self, engine: Engine, clock: Clock, count: Count = Count.NONE) -> Resolved:
        """The query as `GET /v1/orders` parses it (InvalidInput naming the bad parameter),
        counted as `count=` says, else as `count` says, and always reading whole rows."""
        api = self.api_params(clock)
        expanded = expand(engine, api)
        given_count = any(n == COUNT for n, _ in expanded)
        counted = expanded if given_count else [*expanded, (COUNT, count.value)]
        query = replace(parse_query(counted), view=View.FULL, picked=None)
        return Resolved(api, expanded, query)

    @property
    def unpaged(self) -> ListQuery:
        return ListQuery([(n, v) for n, v in self.given if n not in PAGING])

    def export_params(self, clock: Clock) -> Params:
        """The API export's parameters (its paging and count refused there: dropped here)."""
        return [(n, v) for n, v in self.api_params(clock) if n not in EXPORT_REFUSES]

    def sort_link(self, query: OrderQuery | None, field: str) -> tuple[str, str | None]:
        """The header's link (ascending first, then toggling) and its aria-sort value."""
        first = query.sort[0] if query is not None else None
        if first is not None and first.field == field:
            state = "descending" if first.descending else "ascending"
            direction = "asc" if first.descending else "desc"
        else:
            state, direction = None, "asc"
        return self.url(_sort=f"{field}:{direction}", cursor=None, page=None), state


# The filter bar: inputs for the common filters, each a parameter of the language.
_CHOICES = {"status": Status, "payment_status": PaymentStatus}
_TEXTS = ("channel", "customer", "vendor_ref")
_RANGES = {"created_at": ("created_from", "created_to"), "total": ("total_min", "total_max")}
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_MODIFIER = re.compile(r"[a-z]{2,3}:")
#: Inputs of the generic row: any field, any modifier, a value.
GENERIC = ("field", "modifier", "value")


@dataclass(frozen=True, slots=True)
class FilterBar:
    """The bar's inputs read from a query, and the parameters it does not show (kept)."""

    values: dict[str, str]
    kept: Params

    @classmethod
    def of(cls, given: Sequence[tuple[str, str]]) -> FilterBar:
        values: dict[str, str] = {}
        kept: Params = []
        for name, raw in given:
            if name in PAGING:
                continue
            owned = _owned(name, raw)
            if owned is None or any(key in values for key in owned):
                kept.append((name, raw))
            else:
                values.update(owned)
        return cls(values, kept)

    @staticmethod
    def build(form: Mapping[str, str], kept: Sequence[str]) -> Params:
        """The query of a submitted bar: the kept parameters (`name=value` each), the bar's
        inputs, then the generic row's filter."""
        params: Params = [pair for text in kept for pair in parse_qsl(text, True)]
        for name in _CHOICES:
            if value := form.get(name, ""):
                params.append((name, value))
        for name in _TEXTS:
            if value := form.get(name, "").strip():
                params.append((name, _literal(value)))
        if value := form.get(SEARCH, "").strip():
            params.append((SEARCH, value))
        for name, (low_input, high_input) in _RANGES.items():
            low, high = form.get(low_input, "").strip(), form.get(high_input, "").strip()
            if low and high:
                params.append((name, f"bt:{low},{high}"))
            elif low:
                params.append((name, f"ge:{low}"))
            elif high:
                params.append((name, f"le:{high}"))
        field, modifier, value = (form.get(name, "").strip() for name in GENERIC)
        if field and value:
            params.append((field, f"{modifier}:{value}" if modifier else _literal(value)))
        return params


def _owned(name: str, raw: str) -> dict[str, str] | None:
    """The bar's inputs that show `name=raw`, or None when the bar cannot show it."""
    if name == SEARCH:
        return {SEARCH: raw}
    if name in _CHOICES or name in _TEXTS:
        value = raw[3:] if raw.startswith("eq:") else raw
        if _MODIFIER.match(value) or value == "$null":
            return None
        if name in _CHOICES and value not in {c.value for c in _CHOICES[name]}:
            return None
        return {name: value}
    if name in _RANGES:
        low, high = _RANGES[name]
        shape = _DAY if name == "created_at" else _NUMBER
        modifier, _, value = raw.partition(":")
        parts = value.split(",")
        if not all(shape.fullmatch(p) for p in parts):
            return None
        if modifier == "bt" and len(parts) == 2:
            return {low: parts[0], high: parts[1]}
        if modifier in ("ge", "le") and len(parts) == 1:
            return {low if modifier == "ge" else high: parts[0]}
    return None


def _literal(value: str) -> str:
    """A text value as a filter: `eq:` first when it would read as a modifier (`ab:c`)."""
    return f"eq:{value}" if _MODIFIER.match(value) else value


def field_names() -> list[str]:
    """The generic row's fields: every field of the language (domain QUERY_FIELDS)."""
    return list(QUERY_FIELDS)
