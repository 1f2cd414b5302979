"""Response models for the OpenAPI document (responses are rendered directly, not validated)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field, create_model

from orderhub.domain import SCALAR_FIELDS, Address, FieldKind, OrderLine, StatusChange
from orderhub.query import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from orderhub.query.operators import ALLOWED_BY_KIND
from orderhub.query.values import expected_for
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
    extra: dict[str, Any] | None = {"enum": list(spec.choices)} if spec.choices else None
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


def query_parameters() -> list[dict[str, Any]]:
    """OpenAPI parameters for the query language: one per field, plus paging, sort and view."""
    params = [
        _param("_sort", "field:asc,other:desc; default id:asc, ties broken by id.", "string"),
        _param("page", "1-based page number.", "integer", minimum=1),
        _param(
            "page_size",
            f"Default {DEFAULT_PAGE_SIZE}.",
            "integer",
            minimum=1,
            maximum=MAX_PAGE_SIZE,
        ),
        _param("cursor", "paging.cursor of the previous page (keyset paging).", "string"),
        _param("filter", "basic: basic objects instead of full ones.", "string", enum=["basic"]),
    ]
    for name, spec in SCALAR_FIELDS.items():
        modifiers = ", ".join(ALLOWED_BY_KIND[spec.kind])
        null = " `$null` with eq/neq." if spec.nullable else ""
        value = f"[modifier:]{expected_for(spec)}"
        text = f"{spec.description} Value: {value}; modifiers {modifiers}.{null}"
        params.append(_param(name, text, "string"))
    return params


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
