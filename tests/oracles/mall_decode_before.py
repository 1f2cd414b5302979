"""The MALL decode as it stood before its fast paths (main at 5999d92), kept as the oracle of
`tests/channels/test_mall_decode_oracle.py`: the plain version every value went through its
reader, copied here so that changes to orderhub.channels.mall cannot reach it. Only the
generic readers (`channels/fields.py`, `to_decimal`) and the domain's types are shared.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from orderhub.channels.fields import FieldReader
from orderhub.domain.order import Address, LineType, Order, OrderLine, StatusChange, StatusSource
from orderhub.domain.status import ChannelType, PaymentStatus, Status

Payload = Mapping[str, Any]
MALL_ZONE = ZoneInfo("Europe/Prague")
DEFAULT_CURRENCY = "CZK"
STATUS_MAP: dict[str, Status] = {
    "blocked": Status.PENDING, "open": Status.OPEN, "shipping": Status.SHIPPING,
    "shipped": Status.SHIPPED, "delivered": Status.DELIVERED, "returned": Status.RETURNED,
    "cancelled": Status.CANCELLED, "lost": Status.LOST,
}  # fmt: skip
CONSIGNMENT_STATUS: dict[str, Status] = {
    "DELIVERED": Status.DELIVERED, "RETURNING": Status.RETURNING,
    "RETURNED": Status.RETURNED, "LOST": Status.LOST,
}  # fmt: skip
CONSIGNMENTS = "consignment_status_history"
SOURCES: dict[str, tuple[str, str, str]] = {
    "mallCz": ("CZK", "CZ", "cs"), "mallSk": ("EUR", "SK", "sk"), "mallPl": ("PLN", "PL", "pl"),
    "mallHu": ("HUF", "HU", "hu"), "mallHr": ("EUR", "HR", "hr"), "mallSi": ("EUR", "SI", "sl"),
}  # fmt: skip
ITEMS_EXTRA = "items_extra"
ADDRESS_EXTRA = {"address": "address_extra", "billing_address": "billing_address_extra"}
_ADDRESS_FIELDS = ("name", "company", "street", "city", "zip", "country", "phone", "email")
_ADDRESS_KEYS = frozenset(_ADDRESS_FIELDS)
_ITEM_KEYS = frozenset({"id", "title", "quantity", "price", "vat"})
CONSUMED = frozenset({
    "id", "status", "confirmed", "test", "customer_id", "customer", "cod", "ship_date",
    "delivered_at", "currency", "price", "delivery_price", "discount", "payment_type",
    "tracking_number", "tracking_url", "email", "phone", "address", "billing_address",
    "items", "created", "updated", *STATUS_MAP,
})  # fmt: skip
_STATUS_WORDS = f"one of {', '.join(STATUS_MAP)}"
_CENT = Decimal("0.01")
_FLAGS: dict[int | str, bool] = {
    0: False,
    1: True,
    "0": False,
    "1": True,
    "false": False,
    "true": True,
}

_read = FieldReader("MALL")
_fail = fail = _read.fail
_text = text = _read.text
_int = _read.integer
_order_id = _read.order_id
_one_of = _read.one_of
_money = _read.money
_object = mapping = _read.mapping
_list = array = _read.array


def decode_order(payload: Payload, *, channel: str) -> Order:
    """Decode one MALL order object; a ValueError names the field that is not as expected."""
    status_name = _one_of(payload.get("status"), "status", STATUS_MAP, _STATUS_WORDS)
    history = status_history(payload)
    created_at, updated_at = _times(payload, history)
    items = _list(payload.get("items"), "items")
    lines = [_line(number, item) for number, item in enumerate(items, start=1)]
    cod = _money(payload.get("cod"), "cod") or None
    shipping_address = _address(payload.get("address"), "address")
    return Order(
        channel=channel,
        channel_type=ChannelType.MALL,
        external_id=_order_id(payload.get("id"), "id"),
        status=STATUS_MAP[status_name],
        channel_status=status_name,
        payment_status=_payment_status(status_name, cod, history),
        created_at=created_at,
        updated_at=updated_at,
        confirmed=_flag(payload.get("confirmed"), "confirmed"),
        test=_flag(payload.get("test"), "test"),
        ship_date=_date(payload.get("ship_date"), "ship_date"),
        delivered_at=_moment(payload.get("delivered_at"), "delivered_at"),
        cod=cod,
        payment_method=_text(payload.get("payment_type"), "payment_type"),
        tracking_number=_text(payload.get("tracking_number"), "tracking_number"),
        tracking_url=_text(payload.get("tracking_url"), "tracking_url"),
        shipping_address=shipping_address,
        billing_address=_address(payload.get("billing_address"), "billing_address"),
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
    was_delivered = any(change.status is Status.DELIVERED for change in history)
    if name == "delivered" or (name == "returned" and was_delivered):
        return PaymentStatus.PAID
    return PaymentStatus.UNPAID


def _party(payload: Payload, address: Address | None) -> dict[str, Any]:
    """Customer fields: top-level values first, then the shipping address, then `source`."""
    _, source_country, language = _source(payload)
    fallback = address or Address()
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
    return {
        "currency": _text(payload.get("currency"), "currency") or _source(payload)[0],
        "total": _total(payload, lines, cod),
        "subtotal": _sum(line.total for line in lines) if lines else None,
        "tax_total": _sum(line.tax_amount for line in lines) if lines else None,
        "shipping_cost": _money(payload.get("delivery_price"), "delivery_price"),
        "discount": _money(payload.get("discount"), "discount"),
    }


def _source(payload: Payload) -> tuple[str, str | None, str | None]:
    """(currency, country, language) implied by the order's `source` shop."""
    source = payload.get("source")
    if isinstance(source, str) and source in SOURCES:
        return SOURCES[source]
    return DEFAULT_CURRENCY, None, None


def _total(payload: Payload, lines: list[OrderLine], cod: Decimal | None) -> Decimal:
    """`price` if sent; else items + delivery + COD fee - discount; else the COD amount."""
    price = _money(payload.get("price"), "price")
    if price is not None:
        return price
    if not lines:
        return cod if cod is not None else Decimal(0)
    charges = [_money(payload.get(name), name) for name in ("delivery_price", "cod_price")]
    discount = _money(payload.get("discount"), "discount") or Decimal(0)
    return _sum(line.total for line in lines) + _sum(c or Decimal(0) for c in charges) - discount


def _line(number: int, item: object) -> OrderLine:
    """One MALL item (prices include VAT, `vat` is a percentage) as an article line."""
    where = f"items[{number - 1}]"
    data = _object(item, where)
    quantity = _int(data.get("quantity"), f"{where}.quantity")
    unit_price = _money(data.get("price"), f"{where}.price")
    if quantity is None or unit_price is None:
        _fail(where, "an item with quantity and price", item)
    rate = _money(data.get("vat"), f"{where}.vat") or Decimal(0)
    total = unit_price * quantity
    return OrderLine(
        line_id=str(number),
        sku=_text(data.get("id"), f"{where}.id"),
        name=_text(data.get("title"), f"{where}.title") or "",
        type=LineType.ARTICLE,
        quantity=quantity,
        unit_price=unit_price,
        tax_rate=rate,
        tax_amount=(total * rate / (100 + rate)).quantize(_CENT),
        total=total,
    )


def _address(value: object, where: str) -> Address | None:
    if value is None:
        return None
    data = _object(value, where)
    return Address(**{name: _text(data.get(name), f"{where}.{name}") for name in _ADDRESS_FIELDS})


def _extra(payload: Payload, items: list[Any]) -> dict[str, Any]:
    """Every field without a canonical place, verbatim; nested leftovers under their own keys."""
    extra = {key: value for key, value in payload.items() if key not in CONSUMED}
    leftovers = {str(n): _rest(item, _ITEM_KEYS) for n, item in enumerate(items, start=1)}
    if any(leftovers.values()):
        extra[ITEMS_EXTRA] = {key: rest for key, rest in leftovers.items() if rest}
    for key, extra_key in ADDRESS_EXTRA.items():
        if rest := _rest(payload.get(key), _ADDRESS_KEYS):
            extra[extra_key] = rest
    return extra


def _rest(value: object, known: frozenset[str]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        return {}
    return {key: item for key, item in value.items() if key not in known}


def status_history(payload: Mapping[str, Any]) -> list[StatusChange]:
    """The timestamps' changes, then the consignment's they lack; by time, ties in that order."""
    changes = [
        StatusChange(status, at, StatusSource.CHANNEL)
        for name, status in STATUS_MAP.items()
        if (at := moment(payload.get(name), name)) is not None
    ]
    stamped = {change.status for change in changes}
    for change in consignment_changes(payload.get(CONSIGNMENTS)):
        if change.status not in stamped and change not in changes:
            changes.append(change)
    return sorted(changes, key=lambda change: change.at)


def consignment_changes(value: object) -> list[StatusChange]:
    """The changes the consignment history's entries mean (see the module docstring)."""
    changes = []
    for index, entry in enumerate(array(value, CONSIGNMENTS) if value is not None else []):
        where = f"{CONSIGNMENTS}[{index}]"
        data = mapping(entry, where)
        status = CONSIGNMENT_STATUS.get(text(data.get("status"), f"{where}.status") or "")
        at = moment(data.get("date"), f"{where}.date")
        if status is not None and at is not None:
            changes.append(StatusChange(status, at, StatusSource.CHANNEL))
    return changes


def flag(value: object, field: str) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int | str) and value in _FLAGS:
        return _FLAGS[value]
    fail(field, "true, false, 1 or 0", value)


def moment(value: object, field: str) -> datetime | None:
    """A MALL time ('YYYY-MM-DD HH:MM:SS', Prague wall time unless it carries an offset) in UTC."""
    parsed = _parsed(value, field, "a time 'YYYY-MM-DD HH:MM:SS'")
    if parsed is None:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=MALL_ZONE)).astimezone(UTC)


def day(value: object, field: str) -> date | None:
    parsed = _parsed(value, field, "a date 'YYYY-MM-DD'")
    return None if parsed is None else parsed.date()


def _parsed(value: object, field: str, expected: str) -> datetime | None:
    found = text(value, field)
    try:
        return None if found is None else datetime.fromisoformat(found)
    except ValueError:
        fail(field, expected, value)


def _sum(values: Iterable[Decimal]) -> Decimal:
    return sum(values, Decimal(0))


_flag = flag
_moment = moment
_date = day
