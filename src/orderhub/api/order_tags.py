"""Thin routes for an order's tags (docs/tags.md): replace them, add some, remove one.

Each is the change `PUT /v1/orders/{id}` makes with `tags`, `add_tags` or `remove_tags`, through
the same service: If-Match, the history, `order.updated` to the webhooks, the ETag of the
answer. Tags are the hub's own: nothing is pushed to the channel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from orderhub.api.auth import WRITE, require
from orderhub.api.content_type import JSON_BODY, json_body
from orderhub.api.order_writes import IF_MATCH, TagInput, changed
from orderhub.api.orders import parse_order_id
from orderhub.api.schemas import ETAG_HEADER, ChangedOrder, answer, problems
from orderhub.domain import InvalidInput
from orderhub.domain.tags import TAG_FORM, normalise_tag
from orderhub.services.keys import ApiKey
from orderhub.services.update_request import OrderUpdate, parse_tags

router = APIRouter(prefix="/v1", tags=["orders"])


class TagList(BaseModel):
    """The body of PUT and POST /v1/orders/{id}/tags."""

    model_config = ConfigDict(extra="forbid")

    tags: TagInput = Field(examples=[["gift", "vip"]])


def _with_body(description: str) -> dict[str, Any]:
    schema = TagList.model_json_schema() | {"description": description}
    return {
        "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
        "parameters": [IF_MATCH],
    }


_ANSWER = {
    **answer(ChangedOrder, "The order as changed", xml=True, headers=ETAG_HEADER),
    **problems(404, 409, 412, 415),
}


async def _with_tags(
    order_id: str, request: Request, key: ApiKey, update: Callable[[list[str]], OrderUpdate]
) -> Response:
    """The change `update` makes of the body's tags, answered as the changed order."""
    number = parse_order_id(order_id)
    return await changed(request, number, update(_tags_of(await request.body())), key)


def _tags_of(raw: bytes) -> list[str]:
    body = json_body(raw, '{"tags": ["vip"]}')
    if not isinstance(body, dict) or "tags" not in body:
        raise InvalidInput("body", 'a JSON object with tags, e.g. {"tags": ["vip"]}')
    for name in body:
        if name != "tags":
            raise InvalidInput(name, "no such field; the body has tags only")
    return parse_tags("tags", body["tags"])


def _tags_route(method: str, body: str, summary: str) -> Any:
    """A route taking {"tags": [...]} and answering the changed order (If-Match honoured)."""
    return router.api_route(
        "/orders/{order_id}/tags",
        methods=[method],
        dependencies=[JSON_BODY],
        response_model=None,
        responses=_ANSWER,
        openapi_extra=_with_body(body),
        summary=summary,
    )


@_tags_route(
    "PUT",
    "Every tag the order is to carry (an empty list: none).",
    "Replace an order's tags; If-Match honoured",
)
async def put_tags(order_id: str, request: Request, key: ApiKey = require(WRITE)) -> Response:
    return await _with_tags(order_id, request, key, lambda tags: OrderUpdate({"tags": tags}))


@_tags_route(
    "POST",
    "Tags to put on the order (those it has already stay once).",
    "Add tags to an order; If-Match honoured",
)
async def add_tags(order_id: str, request: Request, key: ApiKey = require(WRITE)) -> Response:
    return await _with_tags(
        order_id, request, key, lambda tags: OrderUpdate({}, add_tags=tuple(tags))
    )


@router.delete(
    "/orders/{order_id}/tags/{tag}",
    response_model=None,
    responses=_ANSWER,
    openapi_extra={"parameters": [IF_MATCH]},
    summary="Remove a tag from an order (a tag it does not carry: unchanged); If-Match honoured",
)
async def remove_tag(
    order_id: str, tag: str, request: Request, key: ApiKey = require(WRITE)
) -> Response:
    number = parse_order_id(order_id)
    try:
        name = normalise_tag(tag)
    except ValueError:
        raise InvalidInput("tag", "a tag: " + TAG_FORM, tag) from None
    return await changed(request, number, OrderUpdate({}, remove_tags=(name,)), key)
