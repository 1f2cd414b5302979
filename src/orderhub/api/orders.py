"""Thin routes for reading orders: parse, call the service, render."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from orderhub.api.auth import READ, require
from orderhub.api.paging import LINK_HEADER_DOC, cursor_links, link_header
from orderhub.api.problems import request_format
from orderhub.api.query_params import fields_param, query_parameters
from orderhub.api.render import (
    JSON_TYPE,
    Format,
    full_order,
    page_envelope,
    page_items,
    picked_order,
    render,
)
from orderhub.api.schemas import (
    ETAG_HEADER,
    IdList,
    OrderDetail,
    OrderList,
    answer,
    problems,
)
from orderhub.domain import InvalidInput
from orderhub.query import OrderQuery, parse_query
from orderhub.query.parser import PICK, parse_picked
from orderhub.query.values import INT64_MAX
from orderhub.services import orders as service
from orderhub.services.views import expand
from orderhub.store import OrderPage

router = APIRouter(prefix="/v1", tags=["orders"])
MAX_ID_DIGITS = len(str(INT64_MAX))
ID_EXPECTED = f"an integer between 1 and {INT64_MAX}"
_QUERY = {"parameters": query_parameters()}
IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": 'ETags as GET returned them (`"3"`, or several, comma-separated): a 304 '
    "without a body when one is the current version.",
    "schema": {"type": "string"},
}


def _paged_list(path: str, model: type, description: str, summary: str) -> Any:
    """The route of a paged order list: read scope, the query language, JSON or XML, Link."""
    return router.get(
        path,
        dependencies=[require(READ)],
        response_model=None,
        responses={
            **answer(model, description, xml=True, headers=LINK_HEADER_DOC),
            **problems(),
        },
        openapi_extra=_QUERY,
        summary=summary,
    )


@_paged_list("/orders", OrderList, "A page of orders", "List orders (the MALL query language)")
def list_orders(request: Request) -> Response:
    engine = request.app.state.engine
    query = parse_query(expand(engine, request.query_params.multi_items()))
    page = service.list_orders(engine, query, encoded=_in_json(request))
    return _respond_page(request, query, page, ids_only=False)


@router.get("/orders.xml", include_in_schema=False, dependencies=[require(READ)])
def list_orders_xml(request: Request) -> Response:
    return list_orders(request)


@router.get("/orders.json", include_in_schema=False, dependencies=[require(READ)])
def list_orders_json(request: Request) -> Response:
    return list_orders(request)


@_paged_list(
    "/orders/unconfirmed",
    IdList,
    "A page of unconfirmed orders",
    "Unconfirmed orders: ids, or basic objects with filter=basic",
)
def list_unconfirmed(request: Request) -> Response:
    engine = request.app.state.engine
    params = expand(engine, request.query_params.multi_items())
    query, page = service.list_unconfirmed(engine, params, encoded=_in_json(request))
    return _respond_page(request, query, page, ids_only=service.unconfirmed_ids(query))


@router.get("/orders/unconfirmed.xml", include_in_schema=False, dependencies=[require(READ)])
def list_unconfirmed_xml(request: Request) -> Response:
    return list_unconfirmed(request)


@router.get(
    "/orders/{order_id}",
    dependencies=[require(READ)],
    response_model=None,
    responses={
        **answer(OrderDetail, "The order", xml=True, headers=ETAG_HEADER),
        304: {"description": "If-None-Match names the current version.", "headers": ETAG_HEADER},
        **problems(404),
    },
    openapi_extra={"parameters": [IF_NONE_MATCH, fields_param()]},
    summary="One order, with its ETag",
)
def get_order(order_id: str, request: Request) -> Response:
    number = parse_order_id(order_id)
    picked = picked_param(request)
    fmt = request_format(request)
    engine = request.app.state.engine
    if fmt is Format.JSON and picked is None:
        kept = service.order_text(engine, number)  # SQLite's text of it, when it has one
        if kept is not None:
            text, version = kept
            return _detail(request, version, lambda: (text.encode(), JSON_TYPE))
    xml = fmt is Format.XML
    order = service.get_order(engine, number, encoded=not xml)
    if picked is None:
        document = full_order(order, parse_nested=xml)
    else:
        document = picked_order(order, picked, parse_nested=xml)
    return _detail(request, order.version, lambda: render(document, fmt, root="order"))


def _detail(request: Request, version: int, body: Callable[[], tuple[bytes, str]]) -> Response:
    """An order's answer with its ETag; 304 (the body not made) when If-None-Match names it."""
    etag = f'"{version}"'
    if etag in _etags(request.headers.get("if-none-match")):
        return Response(status_code=304, headers={"ETag": etag})
    content, media_type = body()
    return Response(content, media_type=media_type, headers={"ETag": etag})


def picked_param(request: Request) -> tuple[str, ...] | None:
    """`fields=` of a detail (docs/api.md, "Sparse answers"): the same names as a list's."""
    given = request.query_params.getlist(PICK)
    if len(given) > 1:
        raise InvalidInput(PICK, "at most one value")
    return parse_picked(given[0]) if given else None


def parse_order_id(raw: str) -> int:
    """`123`, `123.json` or `123.xml` -> 123; anything else is a 400 naming `order_id`."""
    return parse_id("order_id", raw.removesuffix(".xml").removesuffix(".json"), shown=raw)


def parse_id(name: str, text: str, *, shown: str | None = None) -> int:
    """A 64-bit id in a path: digits only, 1 to 2**63-1; any other text (a well-formed integer
    out of that range too) is a 400 naming the parameter, never a 404 or a 500."""
    # Length first: int() of thousands of digits is slow, and refused past 4300 digits.
    if len(text) > MAX_ID_DIGITS or not text.isascii() or not text.isdigit():
        raise InvalidInput(name, ID_EXPECTED, _shortened(shown or text))
    number = int(text)
    if not 0 < number <= INT64_MAX:
        raise InvalidInput(name, ID_EXPECTED, _shortened(shown or text))
    return number


def _shortened(text: str) -> str:
    return text if len(text) <= 40 else text[:40] + f"... ({len(text)} characters)"


def _respond_page(
    request: Request, query: OrderQuery, page: OrderPage, *, ids_only: bool
) -> Response:
    """A page of a list in the asked format, with its RFC 8288 Link header (api/paging.py)."""
    fmt = request_format(request)
    document = page_envelope(query, page, page_items(query, page, ids_only=ids_only, fmt=fmt))
    paging = document["paging"]
    pages = paging["pages"] if paging["pages"] is not None else paging["page"]
    links = cursor_links(request, paging["page"], pages, paging["cursor"])
    body, media_type = render(document, fmt)
    return Response(body, media_type=media_type, headers=link_header(links))


def _in_json(request: Request) -> bool:
    """Whether the answer is JSON: its rows can then be read as JSON writes them."""
    return request_format(request) is Format.JSON


def _etags(header: str | None) -> list[str]:
    if not header:
        return []
    return [tag.strip().removeprefix("W/") for tag in header.split(",")]
