"""Thin routes for shipments, cancellations and returns of single lines:
POST/GET /v1/orders/{id}/shipments, /cancellations and /returns (docs/shipments.md)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from orderhub.api.auth import READ, WRITE, require
from orderhub.api.content_type import JSON_BODY, json_body
from orderhub.api.order_writes import IF_MATCH, TEXT_PATTERN, WEB_URL_PATTERN, parse_if_match
from orderhub.api.orders import parse_order_id
from orderhub.api.render import json_response
from orderhub.api.schemas import ETAG_HEADER, Notification, _Closed, answer, problems
from orderhub.domain import Status
from orderhub.domain.fulfilment import LineAction
from orderhub.domain.order import PushStatus
from orderhub.services import line_actions as service
from orderhub.services.keys import ApiKey
from orderhub.services.line_request import (
    MAX_LINE_ID,
    MAX_LINES,
    MAX_QUANTITY,
    MAX_REASON,
    parse_line_action,
)
from orderhub.store import StoredOrder
from orderhub.store.fulfilment import LineRecord

router = APIRouter(prefix="/v1", tags=["shipments, cancellations and returns"])

_PATHS = {
    LineAction.SHIPMENT: "shipments",
    LineAction.CANCELLATION: "cancellations",
    LineAction.RETURN: "returns",
}
_PUSH = tuple(p.value for p in PushStatus)
_LOCATION = {"Location": {"description": "The order's list of them.", "schema": {"type": "string"}}}
_RECORD_EXAMPLE: dict[str, Any] = {
    "id": 1, "order_id": 4300000042, "lines": [{"line_id": "1", "sku": "SKU-04319", "quantity": 2}],
    "amount": 1165.0, "carrier": None, "tracking_number": None, "tracking_url": None,
    "reason": None, "created_at": "2026-12-07T00:10:00Z", "created_by": "warehouse",
    "push_status": "pending", "push_error": None,
}  # fmt: skip
_RECORD_EXAMPLES = {
    LineAction.SHIPMENT: _RECORD_EXAMPLE | {
        "carrier": "PostNord", "tracking_number": "PN123",
        "tracking_url": "https://track.example/PN123"},
    LineAction.CANCELLATION: _RECORD_EXAMPLE | {"reason": "out of stock"},
    LineAction.RETURN: _RECORD_EXAMPLE | {"reason": "damaged in transit"},
}  # fmt: skip
_ORDER_AFTER_EXAMPLE = {
    "id": 4300000042, "status": "partially_shipped", "version": 4, "push_status": "pending",
    "lines": [{"line_id": "1", "sku": "SKU-04319", "quantity": 3, "delivered_quantity": 2,
               "cancelled_quantity": 0, "returned_quantity": 0}],
}  # fmt: skip


class RecordLine(_Closed):
    line_id: str
    sku: str | None
    quantity: int = Field(description="How many of the line this action took.")


class LineRecordDoc(_Closed):
    id: int
    order_id: int
    lines: list[RecordLine]
    amount: Decimal = Field(description="Unit price x quantity of the lines, exact.")
    carrier: str | None = Field(None, description="Shipments only.")
    tracking_number: str | None = Field(None, description="Shipments only.")
    tracking_url: str | None = Field(None, description="Shipments only.")
    reason: str | None = Field(None, description="Cancellations and returns only.")
    created_at: datetime
    created_by: str = Field(description="The API key (or cli:<login>) that made it.")
    push_status: Literal[_PUSH] | None = Field(  # type: ignore[valid-type]
        description="Where it stands with the channel; unsupported: the channel has no call "
        "for it (push_error says why)."
    )
    push_error: str | None


class OrderLineState(_Closed):
    line_id: str
    sku: str | None
    quantity: int
    delivered_quantity: int
    cancelled_quantity: int
    returned_quantity: int


class OrderAfter(_Closed):
    id: int
    status: Literal[tuple(s.value for s in Status)]  # type: ignore[valid-type]
    version: int
    push_status: Literal[_PUSH] | None  # type: ignore[valid-type]
    lines: list[OrderLineState]


class LineRecordMade(_Closed):
    data: LineRecordDoc
    order: OrderAfter = Field(description="The order after it: status, version, line totals.")
    notification: Notification | None = Field(
        None, description="Only when the request asked for notify_user."
    )


class LineRecordList(_Closed):
    data: list[LineRecordDoc]


def _line_schema() -> dict[str, Any]:
    key = {"maxLength": MAX_LINE_ID, "minLength": 1}
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["quantity"],
        "oneOf": [{"required": ["line_id"]}, {"required": ["sku"]}],
        "properties": {
            "line_id": {"type": "string", **key, "description": "The line's id (lines[].line_id)."},
            "sku": {"type": "string", **key, "description": "The SKU of exactly one line."},
            "quantity": {"type": "integer", "minimum": 1, "maximum": MAX_QUANTITY},
        },
    }


def _body_schema(action: LineAction) -> dict[str, Any]:
    lines = {"type": "array", "minItems": 1, "maxItems": MAX_LINES, "items": _line_schema()}
    properties: dict[str, Any] = {
        "lines": lines,
        "all_remaining": {"type": "boolean", "description": "true: every goods line's rest."},
        "notify_user": {
            "anyOf": [
                {"type": "boolean"},
                {"type": "integer", "enum": [0, 1]},
                {"type": "string", "enum": ["true", "false", "1", "0"]},
            ],
            "description": "E-mail the customer when this changes the order's status "
            "(as the PUT's notify_user; the answer's `notification` says what became of it).",
        },
    }
    required: list[str] = []
    if action is LineAction.SHIPMENT:
        text = {"type": "string", "pattern": TEXT_PATTERN}
        properties |= {
            "carrier": {"anyOf": [{**text, "maxLength": 64}, {"type": "null"}]},
            "tracking_number": {"anyOf": [{"type": "string", "maxLength": 128,
                                           "pattern": "^[0-9A-Za-z._-]+$"}, {"type": "null"}]},
            "tracking_url": {"anyOf": [{"type": "string", "maxLength": 1024,
                                        "pattern": WEB_URL_PATTERN}, {"type": "null"}]},
        }  # fmt: skip
    else:
        properties["reason"] = {"type": "string", "maxLength": MAX_REASON, "pattern": TEXT_PATTERN}
        required.append("reason")
    return {
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": properties,
        "oneOf": [
            {"required": ["lines"], "not": {"required": ["all_remaining"]}},
            {"required": ["all_remaining"], "properties": {"all_remaining": {"const": True}},
             "not": {"required": ["lines"]}},
        ],
    }  # fmt: skip


_EXAMPLES: dict[LineAction, dict[str, Any]] = {
    LineAction.SHIPMENT: {
        "two of one line": {"value": {"lines": [{"line_id": "2", "quantity": 2}],
                                      "carrier": "PostNord", "tracking_number": "PN123",
                                      "tracking_url": "https://track.example/PN123"}},
        "the rest": {"value": {"all_remaining": True, "tracking_number": "PN124",
                               "tracking_url": "https://track.example/PN124"}},
    },
    LineAction.CANCELLATION: {
        "one by SKU": {"value": {"lines": [{"sku": "MUG-1", "quantity": 1}],
                                 "reason": "out of stock"}},
    },
    LineAction.RETURN: {
        "one back": {"value": {"lines": [{"line_id": "2", "quantity": 1}],
                               "reason": "damaged in transit"}},
    },
}  # fmt: skip


def record_document(record: LineRecord) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": record.id,
        "order_id": record.order_id,
        "lines": [{k: line[k] for k in ("line_id", "sku", "quantity")} for line in record.lines],
        "amount": record.amount,
    }
    if record.action is LineAction.SHIPMENT:
        document |= {"carrier": record.carrier, "tracking_number": record.tracking_number,
                     "tracking_url": record.tracking_url}  # fmt: skip
    else:
        document["reason"] = record.reason
    return document | {
        "created_at": record.created_at,
        "created_by": record.created_by,
        "push_status": record.push_status,
        "push_error": record.push_error,
    }


def _order_after(stored: StoredOrder) -> dict[str, Any]:
    order = stored.to_order()
    lines = [
        {"line_id": line.line_id, "sku": line.sku, "quantity": line.quantity,
         "delivered_quantity": line.delivered_quantity,
         "cancelled_quantity": line.cancelled_quantity,
         "returned_quantity": line.returned_quantity}
        for line in order.lines
    ]  # fmt: skip
    return {"id": order.id, "status": order.status.value, "version": stored.version,
            "push_status": order.push_status, "lines": lines}  # fmt: skip


def _routes(action: LineAction) -> None:
    path = f"/orders/{{order_id}}/{_PATHS[action]}"
    words = {"shipment": "Ship", "cancellation": "Cancel", "return": "Return"}[action]

    async def make(order_id: str, request: Request, key: ApiKey = require(WRITE)) -> Response:
        number = parse_order_id(order_id)
        example = '{"lines": [{"line_id": "1", "quantity": 1}], ...}'
        line_request = parse_line_action(action, json_body(await request.body(), example))
        if_match = parse_if_match(request.headers.get("if-match"))
        engine = request.app.state.engine
        result = await run_in_threadpool(
            service.record_line_action, engine, number, line_request, key.name, if_match
        )
        document = {"data": record_document(result.record), "order": _order_after(result.order)}
        if result.notification is not None:
            document["notification"] = result.notification.as_dict()
        headers = {"ETag": f'"{result.order.version}"',
                   "Location": f"/v1/orders/{number}/{_PATHS[action]}"}  # fmt: skip
        return json_response(document, 201, headers)

    def listing(order_id: str, request: Request) -> Response:
        number = parse_order_id(order_id)
        found = service.list_line_actions(request.app.state.engine, number, action)
        return json_response({"data": [record_document(r) for r in found]})

    router.post(
        path,
        status_code=201,
        dependencies=[JSON_BODY],
        response_model=None,
        responses={
            **answer(LineRecordMade, f"The {action} made, and the order after it", status=201,
                     headers={**ETAG_HEADER, **_LOCATION},
                     example={"data": _RECORD_EXAMPLES[action], "order": _ORDER_AFTER_EXAMPLE}),
            **problems(404, 409, 412, 415),
        },
        openapi_extra={
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": _body_schema(action), "examples": _EXAMPLES[action]}}},
            "parameters": [IF_MATCH],
        },
        summary=f"{words} single lines with quantities (or all that remains); If-Match honoured",
        name=f"post_{_PATHS[action]}",
    )(make)  # fmt: skip
    router.get(
        path,
        dependencies=[require(READ)],
        response_model=None,
        responses={
            **answer(
                LineRecordList,
                f"The order's {_PATHS[action]}, oldest first",
                example={"data": [_RECORD_EXAMPLES[action]]},
            ),
            **problems(404),
        },
        summary=f"The order's {_PATHS[action]}, oldest first",
        name=f"get_{_PATHS[action]}",
    )(listing)


for _action in LineAction:
    _routes(_action)
