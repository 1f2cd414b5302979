"""The query language's parameters as OpenAPI describes them: one per field (with the grammar of
its values as a pattern), plus paging, sort and view."""

from __future__ import annotations

from typing import Any

from orderhub.domain import QUERY_FIELDS, SCALAR_FIELDS, FieldKind, ScalarField
from orderhub.domain.tags import TAG_INPUT
from orderhub.query import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Count
from orderhub.query.operators import ALLOWED_BY_KIND, OPERATORS, Arity
from orderhub.query.parser import (
    COUNT,
    MAX_IN_VALUES,
    MAX_PAGE,
    MAX_SEARCH_LENGTH,
    MAX_SEARCH_TERMS,
    ORDER_KEYS,
    PICK,
    SEARCH,
    SEARCH_SPACE,
)
from orderhub.query.saved import VIEW
from orderhub.query.values import expected_for
from orderhub.services.views import NAME_PATTERN
from orderhub.store.counting import ESTIMATE_CAP


def query_parameters() -> list[dict[str, Any]]:
    """OpenAPI parameters for the query language: one per field, plus paging, sort and view."""
    sort_key = f"({'|'.join(SCALAR_FIELDS)})(:(asc|desc))?"
    params = [
        _param(
            "_sort",
            "field:asc,other:desc; default id:asc, ties broken by id.",
            "string",
            pattern=f"^({sort_key})?$",
        ),
        _param("page", "1-based page number.", "integer", minimum=1, maximum=MAX_PAGE),
        _param(
            "page_size",
            f"Default {DEFAULT_PAGE_SIZE}.",
            "integer",
            minimum=1,
            maximum=MAX_PAGE_SIZE,
        ),
        _param(
            "cursor",
            "paging.cursor of the previous page (keyset paging); only a cursor the hub made "
            "for the same filters and sort is accepted.",
            "string",
            minLength=1,
        ),
        _param("filter", "basic: basic objects instead of full ones.", "string", enum=["basic"]),
        _search_param(),
        fields_param(),
        _param(
            COUNT,
            "How paging.total is found: exact (default: counted), estimated (cheap at any "
            "size: PostgreSQL's planner estimate; SQLite counts up to "
            f"{ESTIMATE_CAP:,}, then says at_least) or none (not counted: total and pages "
            "null). paging.count says which was used.",
            "string",
            enum=list(Count),
        ),
        _param(
            VIEW,
            "A saved view's name (GET /v1/views, docs/views.md): its query, narrowed by the "
            "other parameters (filters and q of both apply; _sort and filter given here "
            "replace the view's). An unknown name is a 400 naming `view`.",
            "string",
            pattern=NAME_PATTERN,
        ),
    ]
    for name, spec in QUERY_FIELDS.items():
        modifiers = ", ".join(ALLOWED_BY_KIND[spec.kind])
        null = " `$null` with eq/neq." if spec.nullable else ""
        value = f"[modifier:]{expected_for(spec)}"
        text = f"{spec.description} Value: {value}; modifiers {modifiers}.{null}"
        pattern = filter_pattern(spec)
        extra = {"pattern": pattern} if pattern else {"minLength": 1}
        params.append(_param(name, text, "string", **extra))
    return params


def fields_param() -> dict[str, Any]:
    """`fields=`: the keys of each order object, on every read (docs/api.md)."""
    names = "|".join(ORDER_KEYS)
    param = _param(
        PICK,
        "Sparse answers: comma-separated keys of the order object, in this order (any key of "
        "the order detail; with filter=basic, or on the unconfirmed queue, the objects become "
        "these keys of the full order). An unknown key is a 400 listing the allowed ones.",
        "string",
        pattern=f"^({names})(,({names}))*$",
    )
    param["example"] = "id,status,total,currency"
    return param


def _search_param() -> dict[str, Any]:
    space, word = SEARCH_SPACE, "[^" + SEARCH_SPACE[1:] + "+"
    param = _param(
        SEARCH,
        "Free-text search (docs/search.md): every whitespace-separated word must appear in the "
        "order's id, external_id, customer, email, vendor_ref, tracking_number or a line's SKU, "
        f"as a part, ASCII letters in either case; at most {MAX_SEARCH_TERMS} words. Combines "
        "with every filter, sort and paging.",
        "string",
        minLength=1,
        maxLength=MAX_SEARCH_LENGTH,
        pattern=f"^{space}*{word}({space}+{word}){{0,{MAX_SEARCH_TERMS - 1}}}{space}*$",
    )
    param["example"] = "novak@example"
    return param


_CI_BOOL = "([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|1|0)"
_DAY = "[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"
_TIME = (
    "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?"
)
_VALUES: dict[FieldKind, str] = {
    FieldKind.INT: "-?[0-9]{1,18}",
    FieldKind.DECIMAL: "-?[0-9]{1,14}(\\.[0-9]{1,4})?",
    FieldKind.BOOL: _CI_BOOL,
    FieldKind.DATE: _DAY,
    FieldKind.DATETIME: f"{_DAY}([ T]{_TIME})?",
}


def filter_pattern(spec: ScalarField) -> str | None:
    """The filter values a field takes, as a regular expression (None for free text, where
    any value with an explicit `eq:` is one; docs/query-language.md has the whole grammar).
    Dates stop at day 28 here: the schema names a part of what is accepted, never more."""
    if spec.kind is FieldKind.STR:
        return None
    if spec.kind is FieldKind.SET:
        return _set_pattern()
    value = (
        "(" + "|".join(spec.choices) + ")" if spec.kind is FieldKind.ENUM else _VALUES[spec.kind]
    )
    allowed = ALLOWED_BY_KIND[spec.kind]
    ones = [op for op in allowed if OPERATORS[op].arity is Arity.ONE]
    if "neq" in ones:
        ones.append("ne")
    forms = [f"(({'|'.join(ones)}):)?{value}"]
    many = [op for op in allowed if OPERATORS[op].arity is Arity.MANY]
    forms.append(f"({'|'.join(many)}):{value}(,{value}){{0,{MAX_IN_VALUES - 1}}}")
    two = [op for op in allowed if OPERATORS[op].arity is Arity.TWO]
    if two:
        forms.append(f"({'|'.join(two)}):{value},{value}")
    if spec.nullable:
        forms.append("((eq|neq|ne):)?\\$null")
    return "^(" + "|".join(forms) + ")$"


def _set_pattern() -> str:
    """A tag filter: a bare tag holds no `:` (`ab:...` would read as a modifier: eq: first)."""
    tag = TAG_INPUT
    bare = TAG_INPUT.replace(":", "")
    forms = [
        f"(eq|neq|ne):{tag}",
        bare,
        f"(in|nin):{tag}(,{tag}){{0,{MAX_IN_VALUES - 1}}}",
        "((eq|neq|ne):)?\\$null",
    ]
    return "^(" + "|".join(forms) + ")$"


def _param(name: str, description: str, kind: str, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": kind, **schema},
    }
