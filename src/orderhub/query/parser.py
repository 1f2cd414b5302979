"""Turn request parameters (`field=modifier:value`, `_sort`, `page`, ...) into an OrderQuery."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from orderhub.domain import (
    QUERY_FIELDS,
    SCALAR_FIELDS,
    FieldKind,
    InvalidInput,
    ScalarField,
    Status,
)
from orderhub.domain.codec import NESTED_FIELDS
from orderhub.domain.tags import TAGS_FIELD
from orderhub.query.ast import After, Count, Fields, Filter, OrderQuery, SortKey, View
from orderhub.query.cursor import PARAMETER as CURSOR
from orderhub.query.cursor import decode_cursor, fingerprint
from orderhub.query.operators import ALIASES, ALLOWED_BY_KIND, OPERATORS, Arity
from orderhub.query.values import NULL, Value, parse_value

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
MAX_PAGE = 10_000_000
#: Values of one in/nin filter (docs/query-language.md); more is a 400 naming the field.
MAX_IN_VALUES = 1000
DEFAULT_SORT = (SortKey("id"),)
#: The free-text search parameter (docs/search.md).
SEARCH = "q"
#: Characters of `q=` at most, and its whitespace-separated terms at most.
MAX_SEARCH_LENGTH = 200
MAX_SEARCH_TERMS = 10
SEARCH_EXPECTED = (
    f"free text: 1 to {MAX_SEARCH_TERMS} words, at most {MAX_SEARCH_LENGTH} characters in all"
)
#: How a list counts its matches (exact, the default; estimated; none).
COUNT = "count"
#: Sparse answers: the keys of each order object (docs/api.md, "Sparse answers").
PICK = "fields"
#: Every key of an order's JSON or XML object: the detail's (the NDJSON export's too).
ORDER_KEYS = (*SCALAR_FIELDS, TAGS_FIELD.name, *NESTED_FIELDS)
#: The hub's own parameters, not in a channel sandbox's language.
HUB_ONLY = (SEARCH, COUNT, PICK)
#: Parameters that are not field filters.
RESERVED = ("_sort", "page", "page_size", "cursor", "filter", SEARCH, COUNT, PICK)

_DIGITS = re.compile(r"[0-9]{1,9}")
#: What separates the words of `q=`: ASCII whitespace (the OpenAPI pattern says the same).
SEARCH_SPACE = "[ \\t\\n\\r\\f\\v]"
_SEARCH_SPACE = re.compile(SEARCH_SPACE + "+")
_MODIFIER = re.compile(r"([a-z]{2,3}):(.*)", re.DOTALL)


Defaults = Callable[[OrderQuery], tuple[Filter, ...]]


def default_visibility(query: OrderQuery) -> tuple[Filter, ...]:
    """As MALL hides blocked and test orders: pending and test orders unless asked for."""
    implicit: list[Filter] = []
    if not query.filters_on("status"):
        implicit.append(Filter("status", "neq", (Status.PENDING.value,), Status.PENDING.value))
    if not query.filters_on("test"):
        implicit.append(Filter("test", "eq", (False,), "0"))
    return tuple(implicit)


def parse_query(
    params: Iterable[tuple[str, str]],
    *,
    fields: Fields = QUERY_FIELDS,
    defaults: Defaults | None = default_visibility,
    hub: bool = True,
    listed: Sequence[str] | None = None,
) -> OrderQuery:
    """Parse query parameters; raise InvalidInput naming the first bad parameter.

    `defaults` adds the implicit filters of the default visibility rules (None: no rules);
    `hub=False` leaves `q`, `count` and `fields` out of the language (a channel sandbox's lacks
    them); `listed` is what an unknown name's error offers besides the fields (None: these).
    """
    own = tuple(n for n in RESERVED if hub or n not in HUB_ONLY)
    filters: list[Filter] = []
    single: dict[str, str] = {}
    for name, raw in params:
        if name in own:
            if name in single:
                raise InvalidInput(name, "at most one value")
            single[name] = raw
        else:
            filters.append(parse_filter(name, raw, fields, own if listed is None else listed))
    sort = parse_sort(single.get("_sort"), fields)
    page = _bounded_int("page", single.get("page"), 1, 1, MAX_PAGE)
    page_size = _bounded_int(
        "page_size", single.get("page_size"), DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE
    )
    view = _view(single.get("filter"))
    terms = parse_search(single[SEARCH]) if SEARCH in single else ()
    after = None
    if CURSOR in single:
        if "page" in single:
            raise InvalidInput("page", "no page together with cursor (the cursor knows its page)")
        after = decode_cursor(single[CURSOR], sort, fingerprint(filters, sort, terms), fields)
        page = after.page
    count = _count(single.get(COUNT))
    picked = parse_picked(single[PICK]) if PICK in single else None
    query = OrderQuery(
        tuple(filters),
        sort,
        page,
        page_size,
        view,
        after,
        search=terms,
        count=count,
        picked=picked,
        fields=fields,
    )
    if defaults is not None:
        query = replace(query, implicit=defaults(query))
    return query


def parse_search(raw: str) -> tuple[str, ...]:
    """`q=`: its whitespace-separated terms, each once, in the order given."""
    terms = tuple(dict.fromkeys(t for t in _SEARCH_SPACE.split(raw) if t))
    if not terms or len(raw) > MAX_SEARCH_LENGTH or len(terms) > MAX_SEARCH_TERMS:
        shown = raw if len(raw) <= 80 else raw[:80] + "..."
        raise InvalidInput(SEARCH, SEARCH_EXPECTED, shown)
    return terms


def parse_picked(raw: str, allowed: tuple[str, ...] = ORDER_KEYS) -> tuple[str, ...]:
    """`fields=a,b`: those keys, each once, in the order given; InvalidInput listing the
    allowed ones for any other name."""
    names = raw.split(",")
    for name in names:
        if name not in allowed:
            raise InvalidInput(PICK, f"comma-separated names among {', '.join(allowed)}", name)
    return tuple(dict.fromkeys(names))


def parse_filter(
    name: str, raw: str, fields: Fields = QUERY_FIELDS, listed: Sequence[str] = RESERVED
) -> Filter:
    field = fields.get(name)
    if field is None:
        known = ", ".join((*fields, *listed))
        raise InvalidInput(name, f"a known field or parameter ({known})")
    operator, text = _split_modifier(field, raw)
    if text == NULL:
        return _null_filter(field, operator, raw)
    arity = OPERATORS[operator].arity
    parts = [text] if arity is Arity.ONE else text.split(",")
    if len(parts) > MAX_IN_VALUES:
        raise InvalidInput(
            name, f"{operator} with at most {MAX_IN_VALUES} values", raw[:80] + "..."
        )
    if arity is Arity.TWO and len(parts) != 2:
        raise InvalidInput(name, f"{operator} with exactly two comma-separated values", raw)
    if any(part == "" for part in parts) or (arity is Arity.ONE and text == ""):
        raise InvalidInput(name, f"{operator} with {arity.value}", raw)
    values = tuple(_value(field, part, raw) for part in parts)
    return Filter(name, operator, values, raw)


def _split_modifier(field: ScalarField, raw: str) -> tuple[str, str]:
    match = _MODIFIER.fullmatch(raw)
    if match is None:
        return "eq", raw
    modifier = ALIASES.get(match[1], match[1])
    if modifier not in OPERATORS:
        known = ", ".join(OPERATORS)
        raise InvalidInput(
            field.name, f"a modifier among {known} (or ne); write eq:{raw} for a literal", raw
        )
    allowed = ALLOWED_BY_KIND[field.kind]
    if modifier not in allowed:
        raise InvalidInput(
            field.name, f"a modifier {', '.join(allowed)} for a {field.kind} field", raw
        )
    return modifier, match[2]


def _null_filter(field: ScalarField, operator: str, raw: str) -> Filter:
    if operator not in ("eq", "neq"):
        raise InvalidInput(field.name, "$null only with eq or neq", raw)
    if not field.nullable:
        raise InvalidInput(field.name, f"a value ({field.name} is never null)", raw)
    return Filter(field.name, operator, (), raw)


def _value(field: ScalarField, text: str, raw: str) -> Value:
    if text == NULL:
        raise InvalidInput(field.name, "$null only with eq or neq", raw)
    return parse_value(field, text, field.name)


def parse_sort(raw: str | None, fields: Fields = QUERY_FIELDS) -> tuple[SortKey, ...]:
    """`_sort=a:asc,b:desc`; ties are always broken by id so paging is stable."""
    if raw is None or raw.strip() == "":
        return DEFAULT_SORT
    keys: list[SortKey] = []
    for item in raw.split(","):
        name, _, direction = item.strip().partition(":")
        if name not in fields or fields[name].kind is FieldKind.SET:
            raise InvalidInput("_sort", f"field[:asc|:desc] with a known field, got {name!r}")
        if direction not in ("", "asc", "desc"):
            raise InvalidInput("_sort", f"asc or desc after {name}:", direction)
        if any(k.field == name for k in keys):
            raise InvalidInput("_sort", f"each field at most once, got {name} twice")
        keys.append(SortKey(name, direction == "desc"))
    if all(k.field != "id" for k in keys):
        keys.append(SortKey("id"))
    return tuple(keys)


def _bounded_int(name: str, raw: str | None, default: int, low: int, high: int) -> int:
    if raw is None:
        return default
    if not _DIGITS.fullmatch(raw) or not low <= int(raw) <= high:
        raise InvalidInput(name, f"an integer from {low} to {high}", raw)
    return int(raw)


def _count(raw: str | None) -> Count:
    if raw is None:
        return Count.EXACT
    if raw not in set(Count):
        raise InvalidInput(COUNT, "one of " + ", ".join(Count), raw)
    return Count(raw)


def _view(raw: str | None) -> View:
    if raw is None:
        return View.FULL
    if raw != View.BASIC:
        raise InvalidInput("filter", "basic", raw)
    return View.BASIC


__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "SEARCH",
    "After",
    "parse_query",
    "parse_search",
    "parse_sort",
]
