"""Render orders and envelopes as JSON (spliced, never re-parsed) or XML (element for element)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

import orjson
from starlette.responses import Response

from orderhub.domain import SCALAR_FIELDS
from orderhub.domain.codec import NESTED_FIELDS
from orderhub.domain.jsonfmt import dumps, loads, money_text, timestamp_text
from orderhub.domain.xmltext import escape_non_xml, has_non_xml_char
from orderhub.query import OrderQuery
from orderhub.query.cursor import Cursor, encode_cursor, fingerprint
from orderhub.store import BASIC_FIELDS, OrderPage, StoredOrder
from orderhub.store.tags import tags_of


class Format(StrEnum):
    JSON = "json"
    XML = "xml"


JSON_TYPE = "application/json"
XML_TYPE = "application/xml"
OK = {"code": 200, "status": "OK"}

#: The element name of one item of each list, so XML reads like the JSON it mirrors.
_ITEM_NAMES = {
    "lines": "line",
    "status_history": "change",
    "errors": "error",
    "orders": "order",
    "ids": "id",
    "tags": "tag",
}
_XML_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


def full_order(
    order: StoredOrder | Mapping[str, Any], *, parse_nested: bool = False
) -> dict[str, Any]:
    """The full order object; nested parts stay JSON text (spliced) unless parse_nested."""
    if isinstance(order, StoredOrder):
        row: Mapping[str, Any] = order.scalars | order.nested_json
        tags = list(order.tags)
    else:
        row, tags = order, tags_of(order)
    result: dict[str, Any] = {name: row[name] for name in SCALAR_FIELDS}
    result["tags"] = tags
    for name in NESTED_FIELDS:
        text = row[name]
        if text is None:
            result[name] = None
        else:
            result[name] = loads(text) if parse_nested else orjson.Fragment(text)
    return result


def picked_order(
    order: StoredOrder | Mapping[str, Any], names: Sequence[str], *, parse_nested: bool = False
) -> dict[str, Any]:
    """The order with only these keys, in this order (`fields=`)."""
    whole = full_order(order, parse_nested=parse_nested)
    return {name: whole[name] for name in names}


def basic_order(row: Mapping[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in BASIC_FIELDS}


def page_envelope(query: OrderQuery, page: OrderPage, items: list[Any]) -> dict[str, Any]:
    """MALL's envelope: data, result, paging {total, pages, size, page} plus the next cursor
    and whether there is a next page."""
    cursor = None
    if page.next_after is not None:
        mark = fingerprint(query.filters, query.sort, query.search)
        cursor = encode_cursor(Cursor(mark, page.next_after))
    return {
        "data": items,
        "result": OK,
        "paging": {
            "total": page.total,
            "count": page.counted,
            "pages": page.pages,
            "size": page.page_size,
            "page": page.page,
            "cursor": cursor,
            "has_next": cursor is not None,
        },
    }


def page_items(query: OrderQuery, page: OrderPage, *, ids_only: bool, fmt: Format) -> list[Any]:
    if query.picked is not None:
        xml = fmt is Format.XML
        return [picked_order(row, query.picked, parse_nested=xml) for row in page.rows]
    if page.rendered:  # each a full order's JSON text already (a JSON answer's)
        return list(page.rows)
    if ids_only:
        return [row["id"] for row in page.rows]
    if query.view.value == "basic":
        return [basic_order(row) for row in page.rows]
    return [full_order(row, parse_nested=fmt is Format.XML) for row in page.rows]


def to_json(document: Any) -> bytes:
    return dumps(document)


def json_response(
    document: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON answer in the hub's conventions (exact money, zoned times)."""
    return Response(to_json(document), status, headers=headers, media_type=JSON_TYPE)


def to_xml(root: str, document: Any) -> bytes:
    element = Element(root)
    _fill(element, document, root)
    # A bare CR in text would be read back as LF; attributes already carry it as &#13;.
    text = tostring(element, encoding="unicode").replace("\r", "&#13;")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + text.encode()


def _fill(element: Element, value: Any, name: str) -> None:
    if isinstance(value, orjson.Fragment):
        value = loads(value.contents)
    if value is None:
        element.set("nil", "true")
    elif isinstance(value, Mapping):
        _fill_mapping(element, value)
    elif isinstance(value, list | tuple):
        _fill_sequence(element, value, name)
    else:
        _set_text(element, _scalar_text(value))


def _set_text(element: Element, text: str) -> None:
    """The text as is, or (when XML cannot carry it) escaped and marked `escaped="true"`."""
    if has_non_xml_char(text):
        element.set("escaped", "true")
        text = escape_non_xml(text)
    element.text = text


def _fill_mapping(element: Element, value: Mapping[str, Any]) -> None:
    for key, item in value.items():
        key = str(key)
        if _XML_NAME.fullmatch(key) and not key.lower().startswith("xml"):
            child = SubElement(element, key)
        else:
            child = SubElement(element, "entry", key=key)
            if has_non_xml_char(key):
                child.set("key", escape_non_xml(key))
                child.set("key_escaped", "true")
        _fill(child, item, key)


def _fill_sequence(element: Element, value: Sequence[Any], name: str) -> None:
    item_name = _ITEM_NAMES.get(name, "item")
    if name == "data":
        item_name = "id" if value and not isinstance(value[0], Mapping) else "order"
    for item in value:
        _fill(SubElement(element, item_name), item, item_name)


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return money_text(value)
    if isinstance(value, datetime):
        return timestamp_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def render(document: Any, fmt: Format, root: str = "response") -> tuple[bytes, str]:
    if fmt is Format.XML:
        return to_xml(root, document), XML_TYPE
    return to_json(document), JSON_TYPE
