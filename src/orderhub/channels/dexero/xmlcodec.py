"""Dexero's XML form (`.xml`), element for element the JSON form. Pure: no I/O.

Each JSON key is an element of the same name; a list is an element named after its key holding
one `<item>` per entry (the page's `orders` list holds `<order>` elements); null is
`nil="true"`; booleans are `true`/`false`. A page is `<response>` with `totalResults`,
`startIndex`, `itemsPerPage`, `pageCount` and `orders`; a single order is `<order>`. Parsing goes
through defusedxml with DTDs forbidden, so entity expansion and external entities are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeAlias
from xml.etree.ElementTree import Element, ParseError, SubElement, tostring

import defusedxml.ElementTree as SafeET

from orderhub.domain.money import to_decimal

#: A field's type: "str", "int", "decimal", "bool", "any", an object schema, or [item schema].
Schema: TypeAlias = "str | dict[str, Schema] | list[Schema]"

_PARAM: Schema = {"identifier": "str", "value": "str"}
_VALUE: Schema = {
    "id": "int", "identifier": "str", "label": "str", "value": "str", "fileName": "str",
    "fileSizeBytes": "str", "fileContentBase64": "str",
}  # fmt: skip
_FORM: Schema = {"title": "str", "quantity_number": "int", "product_id": "int", "value": [_VALUE]}
_PRODUCT: Schema = {
    "id": "int", "sku": "str", "name": "str", "type": "str", "product_price": "decimal",
    "total_price": "decimal", "price_for_quantity": "decimal", "rebate_amount": "decimal",
    "tax_amount": "decimal", "quantity": "int", "custom_param": [_PARAM], "attribute": [_PARAM],
}  # fmt: skip
_ADDRESS: Schema = {
    key: "str"
    for key in (
        "name", "phone_number", "postal_code", "company", "street_address", "city",
        "iso_country", "iso_region",
    )
}  # fmt: skip
_MONEY_FIELDS = (
    "subtotal_order", "subtotal_cancelled", "total_order", "total_cancelled", "total_products",
    "total_payment", "total_refunded", "total_transactions", "total_shipping",
    "total_left_to_pay", "total_tax", "total_tax_cancelled",
)  # fmt: skip
_STR_FIELDS = (
    "purchase_date", "currency", "customer_comment", "customer_email", "locale", "ip_address",
    "status", "transaction_type", "payment_method", "payment_provider", "card_type",
    "reference_number",
)  # fmt: skip
#: The Order object of the seed, field by field.
ORDER_SCHEMA: dict[str, Schema] = {
    "id": "int",
    "customer_id": "int",
    **dict.fromkeys(_STR_FIELDS, "str"),
    **dict.fromkeys(_MONEY_FIELDS, "decimal"),
    "is_archived": "bool",
    "is_shippable": "bool",
    "is_test": "bool",
    "billing_address": _ADDRESS,
    "shipping_address": _ADDRESS,
    "order_form": [_FORM],
    "product": [_PRODUCT],
    "customer": "any",
}
#: A list response: the pagination info and the orders.
PAGE_SCHEMA: dict[str, Schema] = {
    "totalResults": "int",
    "startIndex": "int",
    "itemsPerPage": "int",
    "pageCount": "int",
    "orders": [ORDER_SCHEMA],
}
_ITEM_TAGS = {"orders": "order"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


# ---------------------------------------------------------------- dict -> XML


def order_to_xml_element(payload: dict[str, Any]) -> Element:
    """The `<order>` element for one Dexero Order object (JSON form)."""
    return _element("order", payload, ORDER_SCHEMA)


def order_to_xml(payload: dict[str, Any]) -> str:
    return _DECLARATION + tostring(order_to_xml_element(payload), encoding="unicode")


def page_to_xml(page: dict[str, Any]) -> str:
    """The `<response>` document of a list call (pagination info and orders)."""
    return _DECLARATION + tostring(_element("response", page, PAGE_SCHEMA), encoding="unicode")


def _element(tag: str, value: Any, schema: Schema) -> Element:
    element = Element(_tag(tag))
    _fill(element, value, schema)
    return element


def _fill(element: Element, value: Any, schema: Schema) -> None:
    if value is None:
        element.set("nil", "true")
    elif isinstance(value, dict):
        fields = schema if isinstance(schema, dict) else {}
        for key, item in value.items():
            _fill(SubElement(element, _tag(key)), item, fields.get(key, "any"))
    elif isinstance(value, list | tuple):
        item_schema = schema[0] if isinstance(schema, list) else "any"
        item_tag = _ITEM_TAGS.get(element.tag, "item")
        for item in value:
            _fill(SubElement(element, item_tag), item, item_schema)
    else:
        element.text = _text(value)


def _tag(name: object) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"cannot write {name!r} as an XML element name")
    return name


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float | Decimal):
        return format(to_decimal(value), "f")
    return str(value)


# ---------------------------------------------------------------- XML -> dict


def order_from_xml(text: str | bytes) -> dict[str, Any]:
    """One `<order>` document as the Order object's JSON form."""
    root = _parse(text)
    if root.tag != "order":
        raise ValueError(f"expected an <order> document, got <{root.tag}>")
    return _object(root, ORDER_SCHEMA)


def page_from_xml(text: str | bytes) -> dict[str, Any]:
    """A `<response>` document as the JSON form of a list response."""
    root = _parse(text)
    if root.tag != "response":
        raise ValueError(f"expected a <response> document, got <{root.tag}>")
    return _object(root, PAGE_SCHEMA)


def orders_from_xml(text: str | bytes) -> list[dict[str, Any]]:
    """The orders of a `<response>` page, an `<orders>` list or a single `<order>` document."""
    root = _parse(text)
    if root.tag == "order":
        return [_object(root, ORDER_SCHEMA)]
    if root.tag == "response":
        root = next((child for child in root if child.tag == "orders"), Element("orders"))
    if root.tag != "orders":
        raise ValueError(f"expected <response>, <orders> or <order>, got <{root.tag}>")
    return [_object(child, ORDER_SCHEMA) for child in root]


class MalformedXml(ValueError):
    """Not well-formed XML (e.g. a body cut short), as opposed to well-formed but refused."""


@dataclass(frozen=True, slots=True)
class UnreadableOrder:
    """An `<order>` of a page whose values do not fit the seed's types: kept for the quarantine."""

    xml: str
    reason: str
    order_id: str | None


def read_page(text: str | bytes) -> dict[str, Any]:
    """A `<response>` page like `page_from_xml`, except that an order that cannot be read is an
    `UnreadableOrder` in `orders` instead of failing the whole page."""
    root = _parse(text)
    if root.tag != "response":
        raise ValueError(f"expected a <response> document, got <{root.tag}>")
    info = {k: v for k, v in PAGE_SCHEMA.items() if k != "orders"}
    page: dict[str, Any] = {}
    for child in root:
        if child.tag == "orders":
            page["orders"] = [_lenient_order(order) for order in child]
        else:
            page[child.tag] = _value(child, info.get(child.tag, "any"))
    return page


def read_order(text: str | bytes) -> dict[str, Any] | UnreadableOrder:
    """One `<order>` document, or an `UnreadableOrder` when its values do not fit."""
    root = _parse(text)
    if root.tag != "order":
        raise ValueError(f"expected an <order> document, got <{root.tag}>")
    return _lenient_order(root)


def _lenient_order(element: Element) -> dict[str, Any] | UnreadableOrder:
    try:
        return _object(element, ORDER_SCHEMA)
    except ValueError as exc:
        xml = tostring(element, encoding="unicode")
        return UnreadableOrder(xml, f"Dexero order: {exc}", element.findtext("id"))
    except RecursionError:
        # Elements nested thousands deep (hostile): unreadable, and too deep to write back out.
        reason = "Dexero order: elements nested too deep to read"
        return UnreadableOrder("(not kept: nested too deep)", reason, element.findtext("id"))


def _parse(text: str | bytes) -> Element:
    """Parse untrusted XML; DTDs, entities and external references raise (ValueError)."""
    try:
        root: Element = SafeET.fromstring(text, forbid_dtd=True)
    except ParseError as exc:
        raise MalformedXml(f"malformed XML: {exc}") from exc
    return root


def _value(element: Element, schema: Schema) -> Any:
    if element.get("nil") == "true":
        return None
    if isinstance(schema, list):
        return [_value(child, schema[0]) for child in element]
    if isinstance(schema, dict):
        return _object(element, schema)
    if schema == "any":
        return _any(element)
    return _scalar(element.text or "", schema, element.tag)


def _object(element: Element, schema: dict[str, Schema]) -> dict[str, Any]:
    return {child.tag: _value(child, schema.get(child.tag, "any")) for child in element}


def _any(element: Element) -> Any:
    """An element of no known schema: lists of <item>, objects, else the text as a string."""
    children = list(element)
    if not children:
        return element.text or ""
    if all(child.tag == "item" for child in children):
        return [_value(child, "any") for child in children]
    return {child.tag: _value(child, "any") for child in children}


def _scalar(text: str, kind: str, tag: str) -> Any:
    if kind == "str":
        return text
    text = text.strip()
    if not text:
        return None
    try:
        if kind == "int":
            return int(text)
        if kind == "decimal":
            return to_decimal(text)
    except ValueError as exc:
        raise ValueError(f"<{tag}>: expected {kind}, got {text!r}") from exc
    if text in ("true", "1", "false", "0"):
        return text in ("true", "1")
    raise ValueError(f"<{tag}>: expected true or false, got {text!r}")
