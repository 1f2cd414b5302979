"""Response models for the OpenAPI document (responses are rendered directly, not validated)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field, create_model

from orderhub.domain import (
    SCALAR_FIELDS,
    Address,
    FieldKind,
    OrderLine,
    ScalarField,
    StatusChange,
)
from orderhub.query import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from orderhub.query.operators import ALLOWED_BY_KIND, OPERATORS, Arity
from orderhub.query.parser import MAX_IN_VALUES, MAX_PAGE
from orderhub.query.values import INT64_MAX, expected_for
from orderhub.store import BASIC_FIELDS

_PYTHON_TYPES: dict[FieldKind, Any] = {
    FieldKind.INT: int,
    FieldKind.STR: str,
    FieldKind.DECIMAL: Decimal,
    FieldKind.BOOL: bool,
    FieldKind.DATE: date,
    FieldKind.DATETIME: datetime,
    FieldKind.ENUM: str,
}


def _field(name: str) -> tuple[Any, Any]:
    spec = SCALAR_FIELDS[name]
    kind = _PYTHON_TYPES[spec.kind]
    annotation = kind | None if spec.nullable else kind
    choices: list[Any] = [*spec.choices, *([None] if spec.nullable else [])]
    extra: dict[str, Any] | None = {"enum": choices} if spec.choices else None
    return annotation, Field(description=spec.description, json_schema_extra=extra)


BasicOrder = create_model("BasicOrder", **{n: _field(n) for n in BASIC_FIELDS})  # type: ignore[call-overload]
Order = create_model(  # type: ignore[call-overload]
    "Order",
    **{n: _field(n) for n in SCALAR_FIELDS},
    shipping_address=(Address | None, None),
    billing_address=(Address | None, None),
    lines=(list[OrderLine], ...),
    status_history=(list[StatusChange], ...),
    extra=(dict[str, Any], Field(description="Channel-only fields, verbatim.")),
)


class Result(BaseModel):
    code: int = 200
    status: str = "OK"


class Paging(BaseModel):
    total: int = Field(description="Orders matching the filters.")
    pages: int
    size: int = Field(description="Page size.")
    page: int = Field(description="1-based page number.")
    cursor: str | None = Field(description="Pass as cursor= for the next page; null on the last.")


class OrderList(BaseModel):
    data: list[Order] | list[BasicOrder]  # type: ignore[valid-type]
    result: Result
    paging: Paging


class IdList(BaseModel):
    data: list[int] | list[BasicOrder]  # type: ignore[valid-type]
    result: Result
    paging: Paging


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[dict[str, str]] | None = None
    #: The request's X-Request-ID (the client's, or one the hub made), also in the header.
    request_id: str | None = None


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
    ]
    for name, spec in SCALAR_FIELDS.items():
        modifiers = ", ".join(ALLOWED_BY_KIND[spec.kind])
        null = " `$null` with eq/neq." if spec.nullable else ""
        value = f"[modifier:]{expected_for(spec)}"
        text = f"{spec.description} Value: {value}; modifiers {modifiers}.{null}"
        pattern = filter_pattern(spec)
        extra = {"pattern": pattern} if pattern else {"minLength": 1}
        params.append(_param(name, text, "string", **extra))
    return params


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


def _param(name: str, description: str, kind: str, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": kind, **schema},
    }


PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "A parameter is not what was expected."},
    404: {"model": Problem, "description": "No such order."},
}


#: Path parameters that are 64-bit ids (the routes read them as text: `42.xml` works too).
PATH_IDS = ("order_id", "subscription_id", "delivery_id")
#: A channel account's name as orderhub.toml may give it (an unknown one is a 404).
CHANNEL_NAME = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_EVERY_ROUTE = {
    "400": "A parameter is not what was expected (the problem names it).",
    "413": "The body is larger than the cap (docs/api.md, Limits).",
    "414": "The path and query string are longer than the cap.",
    "431": "Too many headers, or too large.",
}
_KEYED_ROUTE = {
    "401": "No valid API key.",
    "403": "The key lacks the scope this route needs.",
    "429": "The key's daily quota is spent.",
}


def finish_openapi(document: dict[str, Any], guarded: Callable[[str], bool]) -> dict[str, Any]:
    """What FastAPI cannot say by itself: ids are 64-bit integers, errors are problems
    (application/problem+json, 400 rather than 422) and the answers every route can give."""
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, item in document["paths"].items():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] == "name":
                    parameter["schema"] = {"type": "string", "pattern": CHANNEL_NAME}
                if parameter["in"] == "path" and parameter["name"] in PATH_IDS:
                    parameter["schema"] = {
                        "type": "integer",
                        "format": "int64",
                        "minimum": 1,
                        "maximum": INT64_MAX,
                    }
            responses = operation["responses"]
            responses.pop("422", None)
            common = _EVERY_ROUTE | (_KEYED_ROUTE if guarded(path) else {})
            for code, description in common.items():
                responses.setdefault(code, {"description": description})
            for code, response in responses.items():
                if code.startswith(("4", "5")):
                    response["content"] = problem
    return document
