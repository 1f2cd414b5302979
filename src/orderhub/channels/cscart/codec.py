"""CS-Cart order details JSON <-> the canonical Order, both directions. Pure: no I/O.

The real API sends most values as strings ("order_id": "97", "total": "677.95"); numbers are
accepted as well, and encoded orders use strings like the API does. Where the seed is silent the
choices are written down in docs/channels-cscart.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from orderhub.channels.fields import FieldReader
from orderhub.domain.order import Address, LineType, Order, OrderLine, StatusChange, StatusSource
from orderhub.domain.status import ChannelType, PaymentStatus, Status

#: A channel order object as JSON decoding gives it.
Payload = Mapping[str, Any]
#: Reads the payload's values; a failure is a ValueError naming CS-Cart and the field.
_read = FieldReader("CS-Cart")
#: Item id -> (percentage tax rate, whether the price includes the tax).
_Rates = dict[str, tuple[Decimal, bool]]

#: Currency of an order that names none (CS-Cart keeps orders in the shop's primary currency).
DEFAULT_CURRENCY = "EUR"

#: CS-Cart status letter -> canonical status (design section 3).
STATUS_BY_LETTER: dict[str, Status] = {
    "N": Status.PENDING, "O": Status.PENDING, "E": Status.PENDING, "P": Status.OPEN,
    "B": Status.BACKORDERED, "C": Status.SHIPPED, "G": Status.RETURNING, "H": Status.RETURNED,
    "D": Status.CANCELLED, "I": Status.CANCELLED, "F": Status.FAILED,
}  # fmt: skip
_LETTERS = f"one of the letters {''.join(STATUS_BY_LETTER)}"
#: CS-Cart status letter -> payment status. B, D and I: no payment the hub can vouch for.
PAYMENT_BY_LETTER: dict[str, PaymentStatus] = {
    "P": PaymentStatus.PAID, "C": PaymentStatus.PAID, "H": PaymentStatus.REFUNDED,
    "G": PaymentStatus.REFUND_PENDING, "N": PaymentStatus.UNPAID, "O": PaymentStatus.UNPAID,
    "E": PaymentStatus.UNPAID, "F": PaymentStatus.UNPAID, "B": PaymentStatus.UNPAID,
    "D": PaymentStatus.UNPAID, "I": PaymentStatus.UNPAID,
}  # fmt: skip
#: The letters a merchant's status change is pushed back as (pending N/O/E cannot be set).
PUSH_LETTER: dict[Status, str] = {
    Status.OPEN: "P", Status.SHIPPED: "C", Status.CANCELLED: "D", Status.RETURNED: "H",
    Status.RETURNING: "G", Status.BACKORDERED: "B", Status.FAILED: "F",
}  # fmt: skip
#: Letters for encoding any canonical status; those CS-Cart lacks get the nearest letter.
_ENCODE_LETTER: dict[Status, str] = PUSH_LETTER | {
    Status.PENDING: "O", Status.SHIPPING: "P", Status.DELIVERED: "C", Status.LOST: "C",
    Status.PARTIALLY_SHIPPED: "P",
}  # fmt: skip

#: Address field -> CS-Cart key after the s_ (shipping) or b_ (billing) prefix.
_ADDRESS_KEYS = {
    "street": "address", "street2": "address_2", "city": "city", "zip": "zipcode",
    "region": "state", "country": "country", "phone": "phone",
}  # fmt: skip
_NAME_KEYS = ("firstname", "lastname")
_PRODUCT_FIELDS = ("item_id", "product_code", "product", "price", "amount", "subtotal", "tax_value")
#: Key of `extra` keeping, per item id, the product fields that have no canonical place.
PRODUCTS_EXTRA = "products_extra"
#: Fields decoded into canonical fields; every other field is kept verbatim in `extra`.
CONSUMED = frozenset({
    "order_id", "status", "timestamp", "updated_at", "user_id", "firstname", "lastname", "email",
    "phone", "lang_code", "total", "subtotal", "discount", "shipping_cost", "tax_subtotal",
    "currency", "vendor_ref", "products",
    *(prefix + key for prefix in ("s_", "b_") for key in (*_ADDRESS_KEYS.values(), *_NAME_KEYS)),
})  # fmt: skip
#: Optional money fields: canonical name -> CS-Cart name.
_AMOUNTS = {
    "subtotal": "subtotal", "discount": "discount", "shipping_cost": "shipping_cost",
    "tax_total": "tax_subtotal",
}  # fmt: skip
_CENT = Decimal("0.01")


def status_letter_for(status: Status) -> str:
    """The CS-Cart letter to push a merchant's status change to the shop with."""
    if status not in PUSH_LETTER:
        settable = ", ".join(str(s) for s in PUSH_LETTER)
        raise ValueError(f"a CS-Cart order cannot be set to {status}; settable: {settable}")
    return PUSH_LETTER[status]


# --- decoding -------------------------------------------------------------------------------


def decode_order(payload: Payload, *, channel: str, currency: str = DEFAULT_CURRENCY) -> Order:
    """Decode one CS-Cart order details object; a ValueError names the field that is wrong."""
    letter = _read.one_of(payload.get("status"), "status", STATUS_BY_LETTER, _LETTERS)
    created_at = _unix(payload.get("timestamp"), "timestamp")
    if created_at is None:
        _read.fail("timestamp", "the Unix time the order was placed", None)
    updated_at = _unix(payload.get("updated_at"), "updated_at") or created_at
    products = _products(payload.get("products"))
    rates = _tax_rates(payload.get("taxes"))
    lines = [_line(item_id, data, rates) for item_id, data in products]
    shipping, billing = _address(payload, "s_"), _address(payload, "b_")
    status = STATUS_BY_LETTER[letter]
    return Order(
        channel=channel,
        channel_type=ChannelType.CSCART,
        external_id=_read.order_id(payload.get("order_id"), "order_id"),
        status=status,
        channel_status=letter,
        payment_status=PAYMENT_BY_LETTER[letter],
        created_at=created_at,
        updated_at=updated_at,
        currency=_read.text(payload.get("currency"), "currency") or currency,
        total=_required_money(payload, "total"),
        customer_id=_read.integer(payload.get("user_id"), "user_id") or None,
        customer=_full_name(payload, ""),
        email=_read.text(payload.get("email"), "email"),
        phone=_read.text(payload.get("phone"), "phone"),
        country=next((a.country for a in (shipping, billing) if a and a.country), None),
        language=_read.text(payload.get("lang_code"), "lang_code"),
        payment_method=_payment_name(payload.get("payment_method")),
        vendor_ref=_read.text(payload.get("vendor_ref"), "vendor_ref"),
        shipping_address=shipping,
        billing_address=billing,
        lines=lines,
        status_history=[StatusChange(status, updated_at, StatusSource.CHANNEL)],
        extra=_extra(payload, products),
        **_amounts(payload, lines),
    )


def _amounts(payload: Payload, lines: list[OrderLine]) -> dict[str, Any]:
    amounts = {name: _read.money(payload.get(key), key) for name, key in _AMOUNTS.items()}
    if amounts["tax_total"] is None and lines:
        amounts["tax_total"] = _sum(line.tax_amount for line in lines)
    return amounts


def _full_name(payload: Payload, prefix: str) -> str | None:
    """firstname and lastname joined, runs of whitespace collapsed; None when both are empty."""
    parts = [_read.text(payload.get(prefix + key), prefix + key) or "" for key in _NAME_KEYS]
    return " ".join(" ".join(parts).split()) or None


def _address(payload: Payload, prefix: str) -> Address | None:
    """The s_* (shipping) or b_* (billing) fields as an Address; None when all are empty."""
    fields = {
        name: _read.text(payload.get(prefix + key), prefix + key)
        for name, key in _ADDRESS_KEYS.items()
    }
    name = _full_name(payload, prefix)
    if name is None and not any(fields.values()):
        return None
    return Address(name=name, **fields)


def _payment_name(value: object) -> str | None:
    """The payment method's name: `payment_method.payment` (or a plain string)."""
    if isinstance(value, Mapping):
        return _read.text(value.get("payment"), "payment_method.payment")
    return _read.text(value, "payment_method") if isinstance(value, str) else None


def _products(value: object) -> list[tuple[str, Mapping[str, Any]]]:
    """`products` keyed by item id (an empty list when there are none, as PHP writes it)."""
    if value is None or value == []:
        return []
    if isinstance(value, Mapping):
        return [(str(key), _read.mapping(item, f"products.{key}")) for key, item in value.items()]
    if isinstance(value, list):
        items = [_read.mapping(item, f"products[{n}]") for n, item in enumerate(value)]
        return [(str(item.get("item_id") or n), item) for n, item in enumerate(items, start=1)]
    _read.fail("products", "an object keyed by item id", value)


def _tax_rates(taxes: object) -> _Rates:
    """Item id -> (percentage rate, price includes tax) from the order's `taxes` object."""
    rates: _Rates = {}
    for tax in taxes.values() if isinstance(taxes, Mapping) else ():
        if not isinstance(tax, Mapping) or tax.get("rate_type") != "P":
            continue
        rate = _read.money(tax.get("rate_value"), "taxes.rate_value") or Decimal(0)
        included = tax.get("price_includes_tax") == "Y"
        for item_id in map(str, _dig(tax, "applies", "items", "P")):
            previous = rates.get(item_id, (Decimal(0), included))[0]
            rates[item_id] = (previous + rate, included)
    return rates


def _line(item_id: str, data: Payload, rates: _Rates) -> OrderLine:
    where = f"products.{item_id}"
    quantity = _read.integer(data.get("amount"), f"{where}.amount")
    price = _read.money(data.get("price"), f"{where}.price")
    if quantity is None or price is None:
        _read.fail(where, "a product with amount and price", dict(data))
    total = _read.money(data.get("subtotal"), f"{where}.subtotal")
    total = price * quantity if total is None else total
    rate, included = rates.get(item_id, (Decimal(0), False))
    tax = _read.money(data.get("tax_value"), f"{where}.tax_value")
    return OrderLine(
        line_id=item_id,
        sku=_read.text(data.get("product_code"), f"{where}.product_code"),
        name=_read.text(data.get("product"), f"{where}.product") or "",
        type=LineType.ARTICLE,
        quantity=quantity,
        unit_price=price,
        tax_rate=rate,
        tax_amount=_tax(total, rate, included) if tax is None else tax,
        total=total,
    )


def _tax(total: Decimal, rate: Decimal, included: bool) -> Decimal:
    share = rate / (100 + rate) if included else rate / 100
    return (total * share).quantize(_CENT)


def _extra(payload: Payload, products: list[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
    extra = {key: value for key, value in payload.items() if key not in CONSUMED}
    rests = {item_id: _rest(data) for item_id, data in products}
    if any(rests.values()):
        extra[PRODUCTS_EXTRA] = {item_id: rest for item_id, rest in rests.items() if rest}
    return extra


def _rest(data: Payload) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in _PRODUCT_FIELDS}


# --- encoding -------------------------------------------------------------------------------


def encode_order(order: Order) -> dict[str, Any]:
    """Encode a canonical Order as CS-Cart order details (string values, as the API sends)."""
    extra = dict(order.extra)
    products_rest: dict[str, Any] = extra.pop(PRODUCTS_EXTRA, None) or {}
    encoded: dict[str, Any] = {
        **extra,
        **_encode_head(order),
        **_encode_address(order.shipping_address, "s_"),
        **_encode_address(order.billing_address, "b_"),
        "products": {
            line.line_id: _encode_product(line, products_rest.get(line.line_id) or {})
            for line in order.lines
        },
    }
    for name, key in _AMOUNTS.items():
        if (amount := getattr(order, name)) is not None:
            encoded[key] = _amount(amount)
    encoded.update(_encode_optional(order, extra))
    return encoded


def _encode_head(order: Order) -> dict[str, Any]:
    first, last = _split(order.customer)
    return {
        "order_id": order.external_id,
        "status": _encode_letter(order),
        "timestamp": _unix_text(order.created_at),
        "updated_at": _unix_text(order.updated_at),
        "user_id": str(order.customer_id or 0),
        "firstname": first,
        "lastname": last,
        "email": order.email or "",
        "phone": order.phone or "",
        "lang_code": order.language or "",
        "currency": order.currency,
        "total": _amount(order.total),
    }


def _encode_letter(order: Order) -> str:
    """The order's own letter when it still means the order's status, else the nearest one."""
    if STATUS_BY_LETTER.get(order.channel_status) is order.status:
        return order.channel_status
    return _ENCODE_LETTER[order.status]


def _encode_address(address: Address | None, prefix: str) -> dict[str, str]:
    found = address or Address()
    first, last = _split(found.name)
    fields = {prefix + key: getattr(found, name) or "" for name, key in _ADDRESS_KEYS.items()}
    return {prefix + "firstname": first, prefix + "lastname": last, **fields}


def _encode_product(line: OrderLine, rest: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **rest,
        "item_id": line.line_id,
        "product_code": line.sku or "",
        "product": line.name,
        "price": _amount(line.unit_price),
        "amount": str(line.quantity),
        "subtotal": _amount(line.total),
        "tax_value": _amount(line.tax_amount),
    }


def _encode_optional(order: Order, extra: Mapping[str, Any]) -> dict[str, Any]:
    """vendor_ref, payment_method and (when `extra` has none) taxes built from the lines."""
    optional: dict[str, Any] = {}
    if order.vendor_ref is not None:
        optional["vendor_ref"] = order.vendor_ref
    method = extra.get("payment_method")
    if order.payment_method is not None and _payment_name(method) != order.payment_method:
        base = method if isinstance(method, Mapping) else {}
        optional["payment_method"] = {**base, "payment": order.payment_method}
    if "taxes" not in extra and (taxes := _encode_taxes(order.lines)):
        optional["taxes"] = taxes
    return optional


def _encode_taxes(lines: list[OrderLine]) -> dict[str, Any]:
    """One percentage tax (prices include it) per distinct line rate, applied to its items."""
    groups: dict[Decimal, list[OrderLine]] = {}
    for line in lines:
        if line.tax_rate:
            groups.setdefault(line.tax_rate, []).append(line)
    return {
        str(number): {
            "rate_type": "P",
            "rate_value": _amount(rate),
            "price_includes_tax": "Y",
            "description": "VAT",
            "tax_subtotal": _amount(_sum(line.tax_amount for line in group)),
            "applies": {"items": {"P": {line.line_id: True for line in group}}},
        }
        for number, (rate, group) in enumerate(groups.items(), start=1)
    }


def _split(name: str | None) -> tuple[str, str]:
    """A full name as (firstname, lastname): the first word, then the rest."""
    first, _, last = (name or "").partition(" ")
    return first, last


def _amount(value: Decimal) -> str:
    return format(value, "f")


def _unix_text(value: datetime) -> str:
    return str(int(value.timestamp()))


# --- reading values -------------------------------------------------------------------------


def _required_money(payload: Payload, field: str) -> Decimal:
    amount = _read.money(payload.get(field), field)
    if amount is None:
        _read.fail(field, "an amount", None)
    return amount


def _unix(value: object, field: str) -> datetime | None:
    """A Unix time (string or number), or an ISO 8601 time taken as UTC when it has no zone."""
    if isinstance(value, str) and value and not value.isdigit():
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            _read.fail(field, "a Unix time", value)
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    seconds = _read.integer(value, field)
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def _dig(value: object, *keys: str) -> Iterable[Any]:
    """The keys of a nested object (`value[k1][k2]...`); nothing when a level is missing."""
    for key in keys:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value.keys() if isinstance(value, Mapping) else ()


def _sum(values: Iterable[Decimal]) -> Decimal:
    return sum(values, Decimal(0))
