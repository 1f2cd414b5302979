"""MALL order JSON <-> the canonical Order, both directions. Pure: no I/O.

Where the seeds are silent the choices are written down in docs/channels-mall.md. Money is read
with `to_decimal` and written as Decimal: serialise the encoded dicts with `domain.jsonfmt.dumps`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from orderhub.channels.mall.codec_history import STATUS_MAP, status_history
from orderhub.channels.mall.codec_values import MALL_ZONE, TIME_FORMAT, local
from orderhub.channels.mall.codec_values import array as _list
from orderhub.channels.mall.codec_values import day as _date
from orderhub.channels.mall.codec_values import fail as _fail
from orderhub.channels.mall.codec_values import flag as _flag
from orderhub.channels.mall.codec_values import integer as _int
from orderhub.channels.mall.codec_values import mapping as _object
from orderhub.channels.mall.codec_values import moment as _moment
from orderhub.channels.mall.codec_values import money as _money
from orderhub.channels.mall.codec_values import one_of as _one_of
from orderhub.channels.mall.codec_values import order_id as _order_id
from orderhub.channels.mall.codec_values import text as _text
from orderhub.domain.order import Address, LineType, Order, OrderLine, StatusChange
from orderhub.domain.status import ChannelType, PaymentStatus, Status

__all__ = [
    "BASIC_FIELDS", "MALL_ZONE", "STATUS_MAP", "TIME_FORMAT", "decode_order", "encode_basic",
    "encode_order",
]  # fmt: skip

#: A channel order object as JSON decoding gives it.
Payload = Mapping[str, Any]

#: Currency of an order that states none and whose `source` is unknown.
DEFAULT_CURRENCY = "CZK"

_TIMESTAMPED: dict[Status, str] = {status: name for name, status in STATUS_MAP.items()}
#: Canonical status -> MALL status; those MALL lacks are written as the nearest MALL status.
_ENCODE_STATUS: dict[Status, str] = _TIMESTAMPED | {
    Status.BACKORDERED: "open", Status.RETURNING: "shipped", Status.FAILED: "cancelled",
    Status.PARTIALLY_SHIPPED: "shipping",
}  # fmt: skip

#: A MALL order's `source` (its country shop) -> (currency, country, language).
SOURCES: dict[str, tuple[str, str, str]] = {
    "mallCz": ("CZK", "CZ", "cs"), "mallSk": ("EUR", "SK", "sk"), "mallPl": ("PLN", "PL", "pl"),
    "mallHu": ("HUF", "HU", "hu"), "mallHr": ("EUR", "HR", "hr"), "mallSi": ("EUR", "SI", "sl"),
}  # fmt: skip

#: Keys of `extra` keeping the fields of nested objects that have no canonical place.
ITEMS_EXTRA = "items_extra"
ADDRESS_EXTRA = {"address": "address_extra", "billing_address": "billing_address_extra"}

_ADDRESS_FIELDS = ("name", "company", "street", "city", "zip", "country", "phone", "email")
# Sets: `_rest` asks of each key of every item and address whether it is one of them.
_ADDRESS_KEYS = frozenset(_ADDRESS_FIELDS)
_ITEM_KEYS = frozenset({"id", "title", "quantity", "price", "vat"})
#: Top-level MALL fields decoded into canonical fields; every other field is kept in `extra`.
CONSUMED = frozenset({
    "id", "status", "confirmed", "test", "customer_id", "customer", "cod", "ship_date",
    "delivered_at", "currency", "price", "delivery_price", "discount", "payment_type",
    "tracking_number", "tracking_url", "email", "phone", "address", "billing_address",
    "items", "created", "updated", *STATUS_MAP,
})  # fmt: skip
#: The fields of MALL's `filter=basic` order objects: seed 001's "Basic data", then those
#: MALL's client reads from it besides (its `BasicOrder`).
BASIC_FIELDS = (
    "id", "external_id", "purchase_id", "cod", "ship_date", "delivered_at", "status",
    "confirmed", "test", "mdp", "customer_id", "customer",
    "payment_type", "mdp_classic", "mdp_spectrum", "tracking_number", "tracking_url",
)  # fmt: skip
_STATUS_WORDS = f"one of {', '.join(STATUS_MAP)}"
_FLAGS_FALSE_BY_DEFAULT = frozenset({"mdp", "mdp_classic", "mdp_spectrum"})
_CENT = Decimal("0.01")
_NO_ADDRESS = Address()


# --- decoding -------------------------------------------------------------------------------


def decode_order(payload: Payload, *, channel: str) -> Order:
    """Decode one MALL order object; a ValueError names the field that is not as expected."""
    get = payload.get
    status_name = _one_of(get("status"), "status", STATUS_MAP, _STATUS_WORDS)
    history = status_history(payload)
    created_at, updated_at = _times(payload, history)
    items = _list(get("items"), "items")
    lines = [_line(number, item) for number, item in enumerate(items, start=1)]
    cod = _amount(get("cod"), "cod") or None
    shipping_address = _address(get("address"), "address")
    return Order(
        channel=channel,
        channel_type=ChannelType.MALL,
        external_id=_order_id(get("id"), "id"),
        status=STATUS_MAP[status_name],
        channel_status=status_name,
        payment_status=_payment_status(status_name, cod, history),
        created_at=created_at,
        updated_at=updated_at,
        confirmed=_flag(get("confirmed"), "confirmed"),
        test=_flag(get("test"), "test"),
        ship_date=_date(get("ship_date"), "ship_date"),
        delivered_at=_moment(get("delivered_at"), "delivered_at"),
        cod=cod,
        payment_method=_text(get("payment_type"), "payment_type"),
        tracking_number=_text(get("tracking_number"), "tracking_number"),
        tracking_url=_text(get("tracking_url"), "tracking_url"),
        shipping_address=shipping_address,
        billing_address=_address(get("billing_address"), "billing_address"),
        lines=lines,
        status_history=history,
        extra=_extra(payload, items),
        **_party(payload, shipping_address),
        **_amounts(payload, lines, cod),
    )


def _times(payload: Payload, history: list[StatusChange]) -> tuple[datetime, datetime]:
    """created_at and updated_at: explicit `created`/`updated`, else the first/last status time."""
    created = _moment(payload.get("created"), "created")
    updated = _moment(payload.get("updated"), "updated")
    created = created or (history[0].at if history else updated)
    updated = updated or (history[-1].at if history else created)
    if created is None or updated is None:
        _fail("created", "a creation time or at least one status timestamp", None)
    return created, updated


def _payment_status(name: str, cod: Decimal | None, history: list[StatusChange]) -> PaymentStatus:
    """Blocked: unpaid; prepaid: paid; cash on delivery: paid once delivered."""
    if name == "blocked":
        return PaymentStatus.UNPAID
    if cod is None:
        return PaymentStatus.PAID
    if name == "delivered":
        return PaymentStatus.PAID
    if name == "returned" and any(change.status is Status.DELIVERED for change in history):
        return PaymentStatus.PAID
    return PaymentStatus.UNPAID


def _party(payload: Payload, address: Address | None) -> dict[str, Any]:
    """Customer fields: top-level values first, then the shipping address, then `source`."""
    _, source_country, language = _source(payload)
    fallback = address or _NO_ADDRESS
    customer_id = _int(payload.get("customer_id"), "customer_id")
    if customer_id is None and isinstance(payload.get("address"), Mapping):
        customer_id = _int(payload["address"].get("customer_id"), "address.customer_id")
    return {
        "customer_id": customer_id,
        "customer": _text(payload.get("customer"), "customer") or fallback.name,
        "email": _text(payload.get("email"), "email") or fallback.email,
        "phone": _text(payload.get("phone"), "phone") or fallback.phone,
        "country": fallback.country or source_country,
        "language": language,
    }


def _amounts(payload: Payload, lines: list[OrderLine], cod: Decimal | None) -> dict[str, Any]:
    """The order's amounts; each value read once, in the order the checks name a bad one."""
    currency = _text(payload.get("currency"), "currency") or _source(payload)[0]
    price = _amount(payload.get("price"), "price")
    shipping_cost = _amount(payload.get("delivery_price"), "delivery_price")
    # `cod_price` counts only towards a total the order does not state.
    cod_fee = _amount(payload.get("cod_price"), "cod_price") if price is None and lines else None
    discount = _amount(payload.get("discount"), "discount")
    subtotal = tax_total = None
    if lines:
        subtotal = tax_total = Decimal(0)
        for line in lines:
            subtotal += line.total
            tax_total += line.tax_amount
    return {
        "currency": currency,
        "total": _total(price, subtotal, (shipping_cost, cod_fee), discount, cod),
        "subtotal": subtotal,
        "tax_total": tax_total,
        "shipping_cost": shipping_cost,
        "discount": discount,
    }


def _source(payload: Payload) -> tuple[str, str | None, str | None]:
    """(currency, country, language) implied by the order's `source` shop."""
    source = payload.get("source")
    if isinstance(source, str) and source in SOURCES:
        return SOURCES[source]
    return DEFAULT_CURRENCY, None, None


def _total(
    price: Decimal | None,
    subtotal: Decimal | None,
    charges: tuple[Decimal | None, Decimal | None],
    discount: Decimal | None,
    cod: Decimal | None,
) -> Decimal:
    """`price` if sent; else items + delivery + COD fee - discount; else the COD amount."""
    if price is not None:
        return price
    if subtotal is None:
        return cod if cod is not None else Decimal(0)
    return subtotal + _sum(c or Decimal(0) for c in charges) - (discount or Decimal(0))


def _line(number: int, item: object) -> OrderLine:
    """One MALL item (prices include VAT, `vat` is a percentage) as an article line."""
    data = item if isinstance(item, Mapping) else _object(item, _item_field(number))
    quantity = data.get("quantity")
    if type(quantity) is not int:
        quantity = _int(quantity, _item_field(number, ".quantity"))
    unit_price = _item_money(data.get("price"), number, ".price")
    if quantity is None or unit_price is None:
        _fail(_item_field(number), "an item with quantity and price", item)
    rate = _item_money(data.get("vat"), number, ".vat") or Decimal(0)
    total = unit_price * quantity
    return OrderLine(
        str(number),
        _item_text(data.get("id"), number, ".id"),
        _item_text(data.get("title"), number, ".title") or "",
        LineType.ARTICLE,
        quantity,
        unit_price,
        rate,
        (total * rate / (100 + rate)).quantize(_CENT),
        total,
    )


# An item's values are read without naming the field unless they fail (the name is text
# built per value otherwise): plain text, whole numbers and finite floats, as `_text` and
# `_money` read them.


def _item_field(number: int, name: str = "") -> str:
    return f"items[{number - 1}]{name}"


def _item_text(value: object, number: int, name: str) -> str | None:
    if type(value) is str:
        return value or None
    return None if value is None else _text(value, _item_field(number, name))


def _item_money(value: object, number: int, name: str) -> Decimal | None:
    amount = _plain_amount(value)
    return amount if amount is not None else _money(value, _item_field(number, name))


def _address(value: object, where: str) -> Address | None:
    if value is None:
        return None
    data = value if isinstance(value, Mapping) else _object(value, where)
    fields: dict[str, str | None] = {}
    for name in _ADDRESS_FIELDS:
        found = data.get(name)
        if type(found) is str:
            fields[name] = found or None
        else:
            fields[name] = None if found is None else _text(found, f"{where}.{name}")
    return Address(**fields)


def _extra(payload: Payload, items: list[Any]) -> dict[str, Any]:
    """Every field without a canonical place, verbatim; nested leftovers under their own keys."""
    extra = {key: value for key, value in payload.items() if key not in CONSUMED}
    items_rest = {}
    for number, item in enumerate(items, start=1):
        if rest := _rest(item, _ITEM_KEYS):
            items_rest[str(number)] = rest
    if items_rest:
        extra[ITEMS_EXTRA] = items_rest
    for key, extra_key in ADDRESS_EXTRA.items():
        if rest := _rest(payload.get(key), _ADDRESS_KEYS):
            extra[extra_key] = rest
    return extra


def _rest(value: object, known: frozenset[str]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        return {}
    return {key: item for key, item in value.items() if key not in known}


def _amount(value: object, field: str) -> Decimal | None:
    """`_money` of a value, a plain number read without its calls."""
    amount = _plain_amount(value)
    return amount if amount is not None else _money(value, field)


def _plain_amount(value: object) -> Decimal | None:
    """An int or a finite float as `to_decimal` reads it; None for anything else."""
    if type(value) is float:
        amount = Decimal(repr(value))
        return amount if amount.is_finite() else None
    return Decimal(value) if type(value) is int else None


# --- encoding -------------------------------------------------------------------------------


def encode_order(order: Order) -> dict[str, Any]:
    """Encode a canonical Order as a MALL order object (the inverse of decode_order)."""
    extra = dict(order.extra)
    items_rest: dict[str, Any] = extra.pop(ITEMS_EXTRA, None) or {}
    address_rest = {key: extra.pop(name, None) or {} for key, name in ADDRESS_EXTRA.items()}
    encoded = {
        **extra,
        **_encode_head(order),
        **_encode_timestamps(order.status_history),
        "address": _encode_address(order.shipping_address, address_rest["address"]),
        "billing_address": _encode_address(order.billing_address, address_rest["billing_address"]),
        "items": [_encode_item(line, items_rest.get(line.line_id) or {}) for line in order.lines],
    }
    encoded.update(_encode_times(order, encoded))
    return encoded


def encode_basic(order: Order) -> dict[str, Any]:
    """The order as MALL's `filter=basic` object."""
    full = encode_order(order)
    return {
        name: full.get(name, False if name in _FLAGS_FALSE_BY_DEFAULT else None)
        for name in BASIC_FIELDS
    }


def _encode_head(order: Order) -> dict[str, Any]:
    return {
        "id": _mall_id(order.external_id),
        "customer_id": order.customer_id,
        "customer": order.customer,
        "ship_date": order.ship_date.isoformat() if order.ship_date else None,
        "delivered_at": local(order.delivered_at),
        "status": _ENCODE_STATUS[order.status],
        "confirmed": order.confirmed,
        "test": order.test,
        "payment_type": order.payment_method,
        "tracking_number": order.tracking_number,
        "tracking_url": order.tracking_url,
        "email": order.email,
        "phone": order.phone,
        "cod": order.cod if order.cod is not None else Decimal(0),
        "currency": order.currency,
        "price": order.total,
        "delivery_price": order.shipping_cost,
        "discount": order.discount,
    }


def _mall_id(external_id: str) -> int:
    try:
        return int(external_id)
    except ValueError:
        _fail("id", "a numeric MALL order id in external_id", external_id)


def _encode_timestamps(history: list[StatusChange]) -> dict[str, str | None]:
    """One timestamp per MALL status: the latest change to it (null when never reached)."""
    latest: dict[str, datetime] = {}
    for change in history:
        name = _TIMESTAMPED.get(change.status)
        if name is not None and (name not in latest or change.at > latest[name]):
            latest[name] = change.at
    return {name: local(latest.get(name)) for name in STATUS_MAP}


def _encode_times(order: Order, encoded: Payload) -> dict[str, str | None]:
    """`created`/`updated`, only where the status timestamps would not give them back."""
    history = status_history(encoded)
    implied = (history[0].at, history[-1].at) if history else (None, None)
    times = zip(("created", "updated"), (order.created_at, order.updated_at), implied, strict=True)
    return {name: local(at) for name, at, was in times if was is None or local(at) != local(was)}


def _encode_address(address: Address | None, rest: Mapping[str, Any]) -> dict[str, Any] | None:
    if address is None:
        return None
    return {**rest, **{name: getattr(address, name) for name in _ADDRESS_FIELDS}}


def _encode_item(line: OrderLine, rest: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **rest,
        "id": line.sku,
        "title": line.name,
        "quantity": line.quantity,
        "price": line.unit_price,
        "vat": line.tax_rate,
    }


# --- reading values -------------------------------------------------------------------------


def _sum(values: Iterable[Decimal]) -> Decimal:
    return sum(values, Decimal(0))
