"""Thin routes for webhook subscriptions and their delivery log (scope `admin`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, Strict, WithJsonSchema, field_validator
from starlette.responses import Response

from orderhub.api import schemas
from orderhub.api.auth import ADMIN, require
from orderhub.api.content_type import JSON_BODY
from orderhub.api.limits import one_value
from orderhub.api.order_writes import WEB_URL_PATTERN
from orderhub.api.orders import parse_id
from orderhub.api.paging import LINK_HEADER_DOC, keyset_page, link_header, page_url
from orderhub.api.render import json_response
from orderhub.api.schemas import answer, problems
from orderhub.domain import InvalidInput
from orderhub.domain.jsonfmt import fields_document
from orderhub.domain.xmltext import XML_SAFE, has_non_xml_char
from orderhub.query.values import INT64_MAX
from orderhub.services import webhooks as service
from orderhub.services.webhook_health import subscription_document
from orderhub.store.webhooks import Delivery

router = APIRouter(
    prefix="/v1",
    tags=["webhooks"],
    dependencies=[require(ADMIN)],
    strict_content_type=False,  # a body without a Content-Type is read as JSON, as PUT does
)
_DELIVERY_PARAMS = ("status", "limit", "cursor")
_GRACE = {
    "name": "grace_seconds",
    "in": "query",
    "required": False,
    "description": "How long the old secret keeps signing too (default 86400: a day).",
    "schema": {"type": "integer", "minimum": 0, "maximum": service.MAX_GRACE_SECONDS},
}
_SINCE = {
    "name": "since",
    "in": "query",
    "required": True,
    "description": "Replay the deliveries created at or after this time (RFC 3339, with zone).",
    "schema": {"type": "string", "format": "date-time"},
    "example": "2026-12-06T10:00:00Z",
}
_DELIVERY_QUERY = [
    {
        "name": "status",
        "in": "query",
        "required": False,
        "description": "Only deliveries in this state.",
        "schema": {"type": "string", "enum": list(service.DELIVERY_STATUSES)},
    },
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": "Deliveries per page (default 100).",
        "schema": {"type": "integer", "minimum": 1, "maximum": service.MAX_DELIVERIES},
    },
    {
        "name": "cursor",
        "in": "query",
        "required": False,
        "description": "paging.cursor of the previous page: the deliveries older than it.",
        "schema": {"type": "integer", "format": "int64", "minimum": 1, "maximum": INT64_MAX},
    },
]


_RATE: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": service.MAX_PER_SECOND}
_PATCH_EXAMPLES = {
    "switch on again": {"value": {"active": True}},
    "slow down": {"value": {"max_per_second": 5}},
}


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        description="Where to POST: http(s); public addresses only by default.",
        json_schema_extra={"pattern": WEB_URL_PATTERN, "maxLength": service.MAX_URL_LENGTH},
    )
    event_types: list[str] = Field(
        description="Some of the event types: " + ", ".join(service.EVENT_TYPES) + ".",
        json_schema_extra={"minItems": 1, "items": {"$ref": "#/components/schemas/EventType"}},
    )
    filter: str | None = Field(
        None,
        description="Only orders matching this query-language filter, e.g. "
        "`channel=mall-cz&status=in:shipped,delivered` (docs/query-language.md).",
        # The schema names a small part of the language; the service checks all of it.
        json_schema_extra={
            "pattern": "^(status=(open|shipped|delivered)(&channel=[a-z0-9-]{1,20})?)?$"
        },
    )
    max_per_second: Annotated[int, Strict()] = Field(
        service.DEFAULT_PER_SECOND,
        description="At most this many deliveries a second (more wait their turn; default 50).",
        json_schema_extra={"minimum": 1, "maximum": service.MAX_PER_SECOND},
    )


class WebhookPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_per_second: Annotated[int | None, Strict(), WithJsonSchema(_RATE)] = Field(
        None, description="At most this many deliveries a second (1 to 1000)."
    )
    active: Annotated[bool | None, Strict(), WithJsonSchema({"type": "boolean"})] = Field(
        None,
        description="true switches a disabled subscription on again (its failures forgotten); "
        "false switches it off.",
    )

    @field_validator("max_per_second", "active", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("a value (leave the field out to keep it as it is)")
        return value


@router.post(
    "/webhooks",
    status_code=201,
    dependencies=[JSON_BODY],
    response_model=None,
    responses={**answer(schemas.NewSubscription, "Subscribed", status=201), **problems(415)},
    summary="Subscribe: the answer carries the signing secret, once",
)
def create_webhook(body: WebhookIn, request: Request) -> Response:
    _check_xml_text(body)
    created = service.create_subscription(
        request.app.state.engine,
        body.url,
        body.event_types,
        body.filter,
        max_per_second=body.max_per_second,
    )
    return json_response(subscription_document(created) | {"secret": created.secret}, 201)


@router.get(
    "/webhooks",
    response_model=None,
    responses={**answer(schemas.SubscriptionList, "Every subscription"), **problems()},
    summary="Subscriptions",
)
def list_webhooks(request: Request) -> Response:
    found = service.list_subscriptions(request.app.state.engine)
    return json_response({"data": [subscription_document(s) for s in found]})


@router.get(
    "/webhooks/{subscription_id}",
    response_model=None,
    responses={**answer(schemas.Subscription, "The subscription"), **problems(404)},
    summary="One",
)
def get_webhook(subscription_id: str, request: Request) -> Response:
    number = parse_id("subscription_id", subscription_id)
    found = service.get_subscription(request.app.state.engine, number)
    return json_response(subscription_document(found))


@router.patch(
    "/webhooks/{subscription_id}",
    dependencies=[JSON_BODY],
    response_model=None,
    responses={
        **answer(schemas.Subscription, "The subscription as it is now"),
        **problems(404, 415),
    },
    openapi_extra={"requestBody": {"content": {"application/json": {"examples": _PATCH_EXAMPLES}}}},
    summary="Change its rate, or switch it on again after it was disabled (or off)",
)
def update_webhook(subscription_id: str, body: WebhookPatch, request: Request) -> Response:
    number = parse_id("subscription_id", subscription_id)
    engine, clock = request.app.state.engine, request.app.state.clock
    found = service.update_subscription(
        engine, number, max_per_second=body.max_per_second, active=body.active, clock=clock
    )
    return json_response(subscription_document(found))


@router.delete(
    "/webhooks/{subscription_id}",
    status_code=204,
    response_model=None,
    responses={204: {"description": "Unsubscribed"}, **problems(404)},
    summary="Unsubscribe (pending deliveries are dropped)",
)
def delete_webhook(subscription_id: str, request: Request) -> Response:
    number = parse_id("subscription_id", subscription_id)
    service.delete_subscription(request.app.state.engine, number)
    return Response(status_code=204)


@router.get(
    "/webhooks/{subscription_id}/deliveries",
    response_model=None,
    responses={
        **answer(schemas.DeliveryPage, "Deliveries, newest first", headers=LINK_HEADER_DOC),
        **problems(404),
    },
    openapi_extra={"parameters": _DELIVERY_QUERY},
    summary="The delivery log, newest first (?status=pending|delivered|failed, ?limit=, ?cursor=)",
)
def list_deliveries(subscription_id: str, request: Request) -> Response:
    number = parse_id("subscription_id", subscription_id)
    status, limit, before = _delivery_params(request)
    engine = request.app.state.engine
    found = service.list_deliveries(engine, number, status, limit + 1, before)
    document = delivery_page(found, limit)
    cursor = document["paging"]["cursor"]
    links = {"next": page_url(request, cursor=cursor)} if cursor else {}
    if before is not None:
        links["first"] = page_url(request, cursor=None)
    return json_response(document, headers=link_header(links))


def delivery_page(found: list[Delivery], limit: int) -> dict[str, Any]:
    """The delivery log's page from up to `limit + 1` deliveries (one more: a next page)."""
    page, paging = keyset_page(found, limit, lambda delivery: delivery.id)
    return {"data": [fields_document(d) for d in page], "paging": paging}


@router.post(
    "/webhooks/{subscription_id}/deliveries/{delivery_id}/retry",
    status_code=202,
    response_model=None,
    responses={**answer(schemas.Delivery, "Queued again", status=202), **problems(404, 409)},
    summary="Send a failed (or delivered) delivery again, with the same webhook-id",
)
def retry_delivery(subscription_id: str, delivery_id: str, request: Request) -> Response:
    number = parse_id("subscription_id", subscription_id)
    delivery = parse_id("delivery_id", delivery_id)
    queued = service.resend_delivery(request.app.state.engine, number, delivery)
    return json_response(fields_document(queued), 202)


@router.post(
    "/webhooks/{subscription_id}/rotate-secret",
    response_model=None,
    responses={**answer(schemas.NewSubscription, "The new secret, shown once"), **problems(404)},
    openapi_extra={"parameters": [_GRACE]},
    summary="A new signing secret; the old one also signs for a grace period (default a day)",
)
def rotate_secret(subscription_id: str, request: Request) -> Response:
    number = parse_id("subscription_id", subscription_id)
    grace = _grace_seconds(request)
    engine, clock = request.app.state.engine, request.app.state.clock
    rotated = service.rotate_secret(engine, number, grace, clock)
    return json_response(subscription_document(rotated) | {"secret": rotated.secret})


@router.post(
    "/webhooks/{subscription_id}/replay",
    status_code=202,
    response_model=None,
    responses={
        **answer(schemas.ReplayQueued, "Queued again, in order", status=202),
        **problems(404, 409),
    },
    openapi_extra={"parameters": [_SINCE]},
    summary="Send every delivery since a time again, in order, with the same webhook-ids",
)
def replay_webhook(subscription_id: str, request: Request) -> Response:
    number, since = parse_id("subscription_id", subscription_id), _since(request)
    queued = service.replay(request.app.state.engine, number, since, request.app.state.clock)
    return json_response({"subscription_id": number, "since": since, "queued": queued}, 202)


def _since(request: Request) -> datetime:
    """`since`: an RFC 3339 time with its zone (a `+` must be sent as %2B)."""
    return service.check_since(_only(request, "since", "a replay") or "")


def _only(request: Request, name: str, what: str) -> str | None:
    """The one query parameter `what` takes (a 400 naming any other)."""
    for other in request.query_params:
        if other != name:
            raise InvalidInput(other, f"no such parameter; {what} takes {name} only")
    return one_value(request, name)


def _grace_seconds(request: Request) -> int:
    raw = _only(request, "grace_seconds", "a rotation")
    if raw is None:
        return service.DEFAULT_GRACE_SECONDS
    expected = f"seconds the old secret keeps signing: 0 to {service.MAX_GRACE_SECONDS}"
    if not raw.isascii() or not raw.isdigit() or int(raw[:12]) > service.MAX_GRACE_SECONDS:
        raise InvalidInput("grace_seconds", expected, raw[:40])
    return int(raw)


def _check_xml_text(body: WebhookIn) -> None:
    """Refuse text XML cannot carry: whatever the hub stores must be representable anywhere."""
    fields = {"url": body.url, "filter": body.filter or ""}
    fields |= {f"event_types.{i}": text for i, text in enumerate(body.event_types)}
    for name, text in fields.items():
        if has_non_xml_char(text):
            raise InvalidInput(name, XML_SAFE, text[:80])


def _delivery_params(request: Request) -> tuple[str | None, int, int | None]:
    params = request.query_params
    for name in params:
        if name not in _DELIVERY_PARAMS:
            raise InvalidInput(name, f"a known parameter ({', '.join(_DELIVERY_PARAMS)})")
    status = one_value(request, "status")
    if status is not None and status not in service.DELIVERY_STATUSES:
        raise InvalidInput("status", f"one of {', '.join(service.DELIVERY_STATUSES)}", status)
    raw_limit = one_value(request, "limit", "100") or ""
    if not raw_limit.isascii() or not raw_limit.isdigit() or len(raw_limit) > 4:
        raise InvalidInput("limit", f"an integer from 1 to {service.MAX_DELIVERIES}", raw_limit)
    limit = int(raw_limit)
    if not 1 <= limit <= service.MAX_DELIVERIES:
        raise InvalidInput("limit", f"an integer from 1 to {service.MAX_DELIVERIES}", raw_limit)
    cursor = one_value(request, "cursor")
    return status, limit, None if cursor is None else parse_id("cursor", cursor)
