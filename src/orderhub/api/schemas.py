"""Models of the OpenAPI document: every request and answer (the routes render answers
directly; tests/openapi_conformance.py checks every answer of the test suite against these)."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, create_model

from orderhub.domain import (
    SCALAR_FIELDS,
    Address,
    FieldKind,
    OrderLine,
    StatusChange,
)
from orderhub.domain.tags import MAX_TAGS, TAG_PATTERN
from orderhub.services.webhooks import DELIVERY_STATUSES, EVENT_TYPES
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


class _Closed(BaseModel):
    """A document the hub writes whole: a field it does not name is a bug (the conformance
    check of every test's answers, tests/openapi_conformance.py, catches it)."""

    model_config = ConfigDict(extra="forbid")


#: One tag as the hub stores and shows it (lower case; docs/tags.md).
Tag = Annotated[str, Field(pattern=f"^{TAG_PATTERN.pattern}$", examples=["vip"])]
Tags = Annotated[
    list[Tag],
    Field(
        max_length=MAX_TAGS,
        description="The merchant's labels, sorted, each once (hub-owned: docs/tags.md).",
        examples=[["gift", "vip"]],
    ),
]

BasicOrder = create_model(  # type: ignore[call-overload]
    "BasicOrder", __base__=_Closed, **{n: _field(n) for n in BASIC_FIELDS}
)
Order = create_model(  # type: ignore[call-overload]
    "Order",
    __base__=_Closed,
    **{n: _field(n) for n in SCALAR_FIELDS},
    tags=(Tags, ...),
    shipping_address=(Address | None, None),
    billing_address=(Address | None, None),
    lines=(list[OrderLine], ...),
    status_history=(list[StatusChange], ...),
    extra=(dict[str, Any], Field(description="Channel-only fields, verbatim.")),
)


#: `fields=`: the order with only the keys asked for (each of them as in Order).
class _Sparse(_Closed):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})


SparseOrder = create_model(  # type: ignore[call-overload]
    "SparseOrder",
    __base__=_Sparse,
    __doc__="An order with only the keys `fields=` named, in that order.",
    **{
        name: (Order.model_fields[name].annotation, Field(None, description=info.description))
        for name, info in Order.model_fields.items()
    },
)


class OrderDetail(RootModel[Order | SparseOrder]):  # type: ignore[valid-type]
    """The order; with `fields=`, only those keys."""


class Result(_Closed):
    code: int = Field(examples=[200])
    status: str = Field(examples=["OK"])


class Paging(_Closed):
    total: int | None = Field(
        description="Orders matching the filters, as `count` says; null with count=none."
    )
    count: Literal["exact", "estimated", "at_least", "none"] = Field(
        description="How total was found: exact (counted), estimated (PostgreSQL's planner), "
        "at_least (SQLite's estimate: at least total, the count stopped there) or none "
        "(count=none: not counted). docs/query-language.md, Counting."
    )
    pages: int | None = Field(description="Pages of `size` in total; null when total is.")
    size: int = Field(description="Page size.")
    page: int = Field(description="1-based page number.")
    cursor: str | None = Field(description="Pass as cursor= for the next page; null on the last.")
    has_next: bool = Field(description="Whether a next page follows (the Link header's next).")


class OrderList(_Closed):
    data: list[Order] | list[BasicOrder] | list[SparseOrder]  # type: ignore[valid-type]
    result: Result
    paging: Paging


class IdList(_Closed):
    data: list[int] | list[BasicOrder] | list[SparseOrder]  # type: ignore[valid-type]
    result: Result
    paging: Paging


class Notification(_Closed):
    """What became of `notify_user`: queued (by the hub or by the channel), or why not."""

    queued: bool
    by: Literal["hub", "channel"] | None = None
    reason: str | None = None


ChangedOrder = create_model(
    "ChangedOrder",
    __base__=Order,
    notification=(
        Notification | None,
        Field(None, description="Only when the change asked for notify_user."),
    ),
)


class SearchResult(_Closed):
    data: list[Order] | list[SparseOrder]  # type: ignore[valid-type]
    result: Result


class Change(_Closed):
    at: datetime
    field: str = Field(description="An order field, e.g. status or tracking_number.")
    old: Any = Field(description="The value before (any JSON value; money exact).")
    new: Any = Field(description="The value after.")
    source: str = Field(description="Who made it: api, channel, ...")
    actor: str | None = Field(description="The API key's name, or the channel.")
    event_id: str


class History(_Closed):
    order_id: int
    history: list[Change]
    result: Result


class OffsetPaging(_Closed):
    total: int
    pages: int
    size: int
    page: int
    has_next: bool


class QuarantinedRecord(_Closed):
    id: int
    channel: str
    external_id: str | None
    reason: str
    first_seen: datetime
    last_seen: datetime
    payload: Any = Field(description="The channel's record, verbatim.")


class QuarantinePage(_Closed):
    data: list[QuarantinedRecord]
    result: Result
    paging: OffsetPaging


class SyncRun(_Closed):
    id: int
    status: str = Field(description="running, ok, failed or interrupted.")
    full: bool
    started_at: datetime
    finished_at: datetime | None
    orders: int = Field(description="Orders read (new, changed and unchanged).")
    orders_new: int
    orders_changed: int
    orders_unchanged: int
    quarantined: int
    acknowledged: int
    requests: int
    requests_per_1000_orders: float | None
    retries: int
    errors: int
    seconds: float | None
    error: str | None


class Channel(_Closed):
    name: str
    type: str
    configured: bool = Field(description="In orderhub.toml (else known from its past syncs).")
    base_url: str | None
    sync_interval: int | None = Field(description="Seconds between scheduled syncs.")
    missing_credentials: list[str]
    cursor: Any = Field(description="Where the next sync starts, its timestamps zoned.")
    last_success_at: datetime | None
    next_due_at: datetime | None
    overdue: bool = Field(description="No successful sync for 3 intervals.")
    consecutive_failures: int
    last_error: str | None
    last_run: SyncRun | None


class ChannelList(_Closed):
    data: list[Channel]
    result: Result


class OneChannel(_Closed):
    data: Channel
    result: Result


#: The webhook event types, a named enum in OpenAPI (services/webhooks.py is the one list).
EventType = StrEnum(  # type: ignore[misc]
    "EventType", {name.replace(".", "_").upper(): name for name in EVENT_TYPES}
)


class Subscription(_Closed):
    id: int
    url: str
    event_types: list[EventType]
    filter: str | None
    active: bool
    disabled_reason: str | None
    created_at: datetime
    previous_secret_until: datetime | None = Field(
        description="After a rotation: until then deliveries are signed with the old secret too."
    )
    failing_since: datetime | None = Field(
        description="The first of an unbroken run of failed deliveries (null: the last one "
        "went through); 5 days of them disable the subscription."
    )
    max_per_second: int = Field(
        description="At most this many deliveries a second (more wait their turn).", examples=[50]
    )


class NewSubscription(Subscription):
    secret: str = Field(description="The signing secret (Standard Webhooks); shown only here.")


class SubscriptionList(_Closed):
    data: list[Subscription]


class Delivery(_Closed):
    id: int
    event_id: str
    type: EventType
    status: Literal[DELIVERY_STATUSES]  # type: ignore[valid-type]
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None


class DeliveryPaging(_Closed):
    size: int = Field(description="The limit asked for.")
    cursor: str | None = Field(description="Pass as cursor= for older deliveries; null at the end.")
    has_next: bool


class DeliveryPage(_Closed):
    data: list[Delivery]
    paging: DeliveryPaging


class ReplayQueued(_Closed):
    subscription_id: int
    since: datetime = Field(description="The time asked for, in UTC.")
    queued: int = Field(
        description="Deliveries queued again: every one created at or after `since`, in order.",
        examples=[42],
    )


class Accepted(_Closed):
    accepted: int = Field(description="Order ids queued for a fetch.")
    result: Result


class Health(_Closed):
    status: Literal["ok"]


class Ready(_Closed):
    status: Literal["ready"]
    revision: str | None = Field(description="The database's Alembic revision (the head).")


class ProblemError(_Closed):
    parameter: str = Field(description="The parameter, header, field or `body` at fault.")
    expected: str = Field(description="What it should have been.")


class Problem(BaseModel):
    """RFC 9457 (application/problem+json, or +xml when XML was asked for)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[ProblemError] | None = Field(None, description="Bad input: what and why.")
    allowed: list[str] | None = Field(
        None, description="409 of a status change: the next statuses the transition table allows."
    )
    head: str | None = Field(None, description="/readyz: the revision the code needs.")
    #: The request's X-Request-ID (the client's, or one the hub made), also in the header.
    request_id: str | None = None


#: What each error status means, for the routes that can answer it (api/openapi.py adds the
#: ones every route can give: 400, 413, 414, 431, and 401, 403, 429 under /v1).
_ERRORS = {
    400: "A parameter, header or the body is not what was expected (the problem names it).",
    404: "No such resource (the problem's detail names it).",
    409: "A conflict with the resource's state (a refused status change lists what is allowed).",
    401: "The channel's webhook secret is missing or wrong.",
    412: "If-Match names another version than the current one: nothing was changed.",
    415: "The body's Content-Type is not one this route reads (the problem names both).",
}
XML_ALTERNATIVE = " (JSON; the same as XML with `Accept: application/xml`, docs/api.md)"


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """FastAPI `responses=` entries for the errors a route can answer (always 400)."""
    return {s: {"model": Problem, "description": _ERRORS[s]} for s in sorted({400, *statuses})}


#: Where answer() keeps a success example until finish_openapi parses it into `example`.
EXAMPLE_TEXT = "x-example-json"


def answer(
    model: Any,
    description: str,
    *,
    status: int = 200,
    xml: bool = False,
    headers: dict[str, Any] | None = None,
    example: Any = None,
) -> dict[int | str, dict[str, Any]]:
    """A FastAPI `responses=` entry for a success: its model, an example of its JSON, and XML
    when the route offers it."""
    entry: dict[str, Any] = {"model": model, "description": description, "content": {}}
    if example is not None:
        # FastAPI drops every null from the document it builds, so the example travels as JSON
        # text and finish_openapi puts it back whole.
        entry["content"]["application/json"] = {EXAMPLE_TEXT: json.dumps(example)}
    if xml:
        ref = {"$ref": f"#/components/schemas/{model.__name__}"}
        entry["content"]["application/xml"] = {"schema": ref}
        entry["description"] += XML_ALTERNATIVE
    if headers:
        entry["headers"] = headers
    return {status: entry}


ETAG_HEADER = {
    "ETag": {
        "description": 'The order\'s version, e.g. `"3"`: send it as If-Match to change it.',
        "required": True,
        "schema": {"type": "string", "pattern": '^"[0-9]+"$'},
    }
}
#: The errors of a route that reads one resource by name or id (kept for the channel routes).
PROBLEMS = problems(404)
