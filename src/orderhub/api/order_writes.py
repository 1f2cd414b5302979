"""Thin routes for changing orders and reading what changed: PUT /v1/orders/{id}, its history,
and the vendor_ref search. Included before api/orders.py so /orders/search is not an id."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from orderhub.api.auth import READ, WRITE, require
from orderhub.api.content_type import JSON_BODY, json_body
from orderhub.api.orders import parse_order_id, picked_param
from orderhub.api.problems import problem, request_format
from orderhub.api.query_params import fields_param
from orderhub.api.render import OK, Format, full_order, picked_order, render
from orderhub.api.schemas import (
    ETAG_HEADER,
    ChangedOrder,
    History,
    SearchResult,
    answer,
    problems,
)
from orderhub.domain import InvalidInput, Status
from orderhub.domain.tags import MAX_TAGS, TAG_INPUT
from orderhub.query.parser import PICK
from orderhub.services import orders as reads
from orderhub.services import updates
from orderhub.services.keys import ApiKey
from orderhub.services.update_request import (
    FIELD_PARSERS,
    MAX_VENDOR_REF,
    TAG_EDITS,
    OrderUpdate,
    parse_update,
)

router = APIRouter(prefix="/v1", tags=["orders"])

Flag = bool | Literal[0, 1, "0", "1", "true", "false"]
#: A tag as a client may send it: upper case is lowered (docs/tags.md).
TagInput = Annotated[
    list[Annotated[str, Field(pattern=f"^{TAG_INPUT}$")]], Field(max_length=MAX_TAGS)
]


class OrderChanges(BaseModel):
    """The body of PUT /v1/orders/{id}: any of these; nothing else (documentation only)."""

    model_config = ConfigDict(extra="forbid")

    status: Literal[tuple(s.value for s in Status)] = Field(  # type: ignore[valid-type]
        None, description="Next status; see the transition table (409 lists what is allowed)."
    )
    # Absent means unchanged; null is refused, so the schema does not offer it.
    confirmed: Flag = Field(None, description="true: acknowledged; false: unconfirmed.")  # type: ignore[arg-type]
    tracking_number: str | None = Field(None, pattern=r"^[0-9A-Za-z._-]+$", max_length=128)
    tracking_url: str | None = Field(None, max_length=1024, description="http(s) URL.")
    carrier: str | None = Field(None, min_length=1, max_length=64)
    delivered_at: str | None = Field(
        None, description="2024-05-01T14:30:00Z, or 2024-05-01 14:30:00 (UTC)."
    )
    vendor_ref: str | None = Field(
        None, min_length=1, max_length=MAX_VENDOR_REF, description="One string."
    )
    tags: TagInput | None = Field(None, description="Every tag of the order (replaces them).")
    add_tags: TagInput | None = Field(None, description="Tags to put on (not with tags).")
    remove_tags: TagInput | None = Field(None, description="Tags to take off (not with tags).")
    notify_user: Flag = Field(False, description="E-mail the customer about a status change.")


#: Free text a merchant sets: not blank, no control characters, nothing XML cannot carry.
_NOT_TEXT = "\\u0000-\\u001f\\u007f\\ufffe\\uffff"
TEXT_PATTERN = f"^[^{_NOT_TEXT}]*[^\\s{_NOT_TEXT}][^{_NOT_TEXT}]*$"
WEB_URL_PATTERN = "^https?://[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*(:[0-9]{1,4})?(/[!#-~]*)?$"
_DATETIME_PATTERN = (
    "^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])[ T]([01][0-9]|2[0-3]):[0-5][0-9]"
    "(:[0-5][0-9])?(Z|[+-](0[0-9]|1[0-3]):[0-5][0-9])?$"
)


def _body_schema() -> dict[str, Any]:
    """OrderChanges' schema, with what pydantic cannot say: the text each field takes, and
    that a change names at least one field (notify_user alone changes nothing)."""
    schema = OrderChanges.model_json_schema()
    fields = schema["properties"]
    for name, pattern in {
        "tracking_url": WEB_URL_PATTERN,
        "carrier": TEXT_PATTERN,
        "vendor_ref": TEXT_PATTERN,
        "delivered_at": _DATETIME_PATTERN,
    }.items():
        fields[name]["anyOf"][0]["pattern"] = pattern
    for name in ("tags", *TAG_EDITS):  # a list; null is refused, so not offered
        fields[name] = fields[name]["anyOf"][0] | {"description": fields[name]["description"]}
    for field in fields.values():
        field.pop("default", None)
    schema["anyOf"] = [{"required": [name]} for name in (*FIELD_PARSERS, *TAG_EDITS)]
    return schema


IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": 'The ETag GET returned (`"3"`; several, comma-separated; or `*`): the change '
    "is made only if the order is still at that version, else a 412 and nothing changes.",
    "schema": {"type": "string"},
}
_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": _body_schema()}},
    },
    "parameters": [IF_MATCH],
}


@router.get(
    "/orders/search",
    dependencies=[require(READ)],
    response_model=None,
    responses={**answer(SearchResult, "The orders with that reference", xml=True), **problems(404)},
    openapi_extra={
        "parameters": [
            {
                "name": "vendor_ref",
                "in": "query",
                "required": True,
                "description": "The merchant's reference, exactly.",
                "schema": {"type": "string", "minLength": 1, "maxLength": MAX_VENDOR_REF},
            },
            fields_param(),
        ]
    },
    summary="Full orders with a vendor_ref (404 when none)",
)
def search(request: Request) -> Response:
    vendor_ref = _vendor_ref_param(request)
    picked = picked_param(request)
    found = reads.search_vendor_ref(request.app.state.engine, vendor_ref)
    fmt = request_format(request)
    xml = fmt is Format.XML
    if picked is None:
        items = [full_order(order, parse_nested=xml) for order in found]
    else:
        items = [picked_order(order, picked, parse_nested=xml) for order in found]
    body, media_type = render({"data": items, "result": OK}, fmt)
    return Response(body, media_type=media_type)


@router.api_route(
    "/orders/search", methods=["PUT", "POST", "DELETE", "PATCH"], include_in_schema=False
)
@router.api_route(
    "/orders/unconfirmed", methods=["PUT", "POST", "DELETE", "PATCH"], include_in_schema=False
)
def read_only_paths(request: Request) -> Response:
    """Not order ids: without this, PUT /orders/search would read `search` as one."""
    return problem(
        request, 405, "Method Not Allowed", "GET only", "http", headers={"Allow": "GET, HEAD"}
    )


@router.get("/orders/search.xml", include_in_schema=False, dependencies=[require(READ)])
def search_xml(request: Request) -> Response:
    return search(request)


@router.put(
    "/orders/{order_id}",
    dependencies=[JSON_BODY],
    response_model=None,
    responses={
        **answer(ChangedOrder, "The order as changed", xml=True, headers=ETAG_HEADER),
        **problems(404, 409, 412, 415),
    },
    openapi_extra=_BODY,
    summary="Change an order (status, tracking, confirmed, vendor_ref, tags); If-Match honoured",
)
async def put_order(order_id: str, request: Request, key: ApiKey = require(WRITE)) -> Response:
    number = parse_order_id(order_id)
    update = parse_update(json_body(await request.body(), '{"status": "shipped", ...}'))
    return await changed(request, number, update, key)


async def changed(request: Request, number: int, update: OrderUpdate, key: ApiKey) -> Response:
    """Make the change (If-Match honoured) and answer the order as changed, with its ETag."""
    if_match = parse_if_match(request.headers.get("if-match"))
    engine = request.app.state.engine
    result = await run_in_threadpool(
        updates.update_order, engine, number, update, key.name, if_match
    )
    fmt = request_format(request)
    document = full_order(result.order, parse_nested=fmt is Format.XML)
    if result.notification is not None:
        document["notification"] = result.notification.as_dict()
    body, media_type = render(document, fmt, root="order")
    return Response(body, media_type=media_type, headers={"ETag": f'"{result.order.version}"'})


@router.get(
    "/orders/{order_id}/history",
    dependencies=[require(READ)],
    response_model=None,
    responses={**answer(History, "The order's changes, oldest first", xml=True), **problems(404)},
    summary="Every recorded change: field, old and new value, when, source, which API key",
)
def history(order_id: str, request: Request) -> Response:
    number = parse_order_id(order_id)
    changes = reads.order_history(request.app.state.engine, number)
    entries = [
        {k: change[k] for k in ("at", "field", "old", "new", "source", "actor", "event_id")}
        for change in changes
    ]
    document = {"order_id": number, "history": entries, "result": OK}
    body, media_type = render(document, request_format(request))
    return Response(body, media_type=media_type)


def parse_if_match(header: str | None) -> frozenset[int] | None:
    """The versions an If-Match accepts; None for no header or `*`. Weak tags never match
    (If-Match compares strongly); a tag that is not a quoted string is a 400."""
    if header is None:
        return None
    versions: set[int] = set()
    for raw in header.split(","):
        tag = raw.strip()
        if tag == "*":
            return None
        weak = tag.startswith("W/")
        opaque = tag.removeprefix("W/")
        if len(opaque) < 2 or not opaque.startswith('"') or not opaque.endswith('"'):
            raise InvalidInput("If-Match", 'quoted ETags as GET returns them, e.g. "3", or *', raw)
        text = opaque[1:-1]
        if not weak and text.isascii() and text.isdigit() and len(text) <= 18:
            versions.add(int(text))
    return frozenset(versions)


def _vendor_ref_param(request: Request) -> str:
    for name in request.query_params:
        if name not in ("vendor_ref", PICK):
            raise InvalidInput(name, "no such parameter; the search takes vendor_ref and fields")
    values = request.query_params.getlist("vendor_ref")
    expected = f"one vendor_ref of 1 to {MAX_VENDOR_REF} characters"
    if len(values) != 1 or not values[0] or len(values[0]) > MAX_VENDOR_REF:
        raise InvalidInput("vendor_ref", expected, values[0] if len(values) == 1 else None)
    return values[0]
