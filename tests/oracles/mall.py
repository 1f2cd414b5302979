"""MALL oracle: the canonical values a MALL order object must give, written by hand.

Sources (copied by hand, nothing imported from orderhub.channels.mall): the status table of
design section 3 and docs/channels-mall.md ("Status", "Payment status", "Mapping", "Items",
assumptions 1 to 5); MALL times are Prague wall time without a zone (seeds 000/001 and
assumption 1); the seed examples' field names.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from oracles import address, cents, line, money, text

PRAGUE = ZoneInfo("Europe/Prague")

#: MALL `status` word -> canonical status (design section 3), in MALL's lifecycle order, which
#: is also the order of history entries that share a time (docs/channels-mall.md assumption 2).
STATUS = {
    "blocked": "pending",
    "open": "open",
    "shipping": "shipping",
    "shipped": "shipped",
    "delivered": "delivered",
    "returned": "returned",
    "cancelled": "cancelled",
    "lost": "lost",
}
LIFECYCLE = list(STATUS)

#: `source` shop -> (currency, country, language) (docs/channels-mall.md assumption 4).
SOURCES = {
    "mallCz": ("CZK", "CZ", "cs"),
    "mallSk": ("EUR", "SK", "sk"),
    "mallPl": ("PLN", "PL", "pl"),
    "mallHu": ("HUF", "HU", "hu"),
    "mallHr": ("EUR", "HR", "hr"),
    "mallSi": ("EUR", "SI", "sl"),
}

#: Top-level MALL fields with a canonical place (the mapping table); all others go to `extra`.
MAPPED = {
    "id", "status", "confirmed", "test", "customer_id", "customer", "cod", "ship_date",
    "delivered_at", "currency", "price", "delivery_price", "discount", "payment_type",
    "tracking_number", "tracking_url", "email", "phone", "address", "billing_address", "items",
    "created", "updated", *STATUS,
}  # fmt: skip
ITEM_MAPPED = {"id", "title", "quantity", "price", "vat"}
ADDRESS_MAPPED = {"name", "company", "street", "city", "zip", "country", "phone", "email"}
#: MALL flags: true, false, 1 or 0 (seed 001); null is false.
TRUE = ("1", "true")


def external_id(payload: Mapping[str, Any]) -> str:
    return str(payload["id"])


def instant(value: object) -> datetime | None:
    """A MALL time: Prague wall time 'YYYY-MM-DD HH:MM:SS' -> an aware UTC datetime."""
    if value is None or value == "":
        return None
    wall = datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S")
    return wall.replace(tzinfo=PRAGUE).astimezone(UTC)


def expected(payload: Mapping[str, Any], channel: str) -> dict[str, Any]:
    """Every canonical field the MALL order object carries, as the hub must store it."""
    word = payload["status"]
    history = _history(payload)
    lines = [_line(n, item) for n, item in enumerate(payload.get("items") or [], start=1)]
    cod = money(payload.get("cod")) or None
    currency, source_country, language = SOURCES.get(payload.get("source"), ("CZK", None, None))
    shipping = payload.get("address")
    contact = shipping or {}
    return {
        "channel": channel,
        "channel_type": "mall",
        "external_id": external_id(payload),
        "status": STATUS[word],
        "channel_status": word,
        "payment_status": _payment(word, cod, history),
        "created_at": instant(payload.get("created")) or history[0][1],
        "updated_at": instant(payload.get("updated")) or history[-1][1],
        "test": payload.get("test") is True or str(payload.get("test")) in TRUE,
        "ship_date": date.fromisoformat(payload["ship_date"]) if payload.get("ship_date") else None,
        "delivered_at": instant(payload.get("delivered_at")),
        "customer_id": payload.get("customer_id") or contact.get("customer_id"),
        "customer": text(payload.get("customer")) or text(contact.get("name")),
        "email": text(payload.get("email")) or text(contact.get("email")),
        "phone": text(payload.get("phone")) or text(contact.get("phone")),
        "country": text(contact.get("country")) or source_country,
        "language": language,
        "currency": text(payload.get("currency")) or currency,
        "total": _total(payload, lines, cod),
        "subtotal": sum((x["total"] for x in lines), Decimal(0)) if lines else None,
        "tax_total": sum((x["tax_amount"] for x in lines), Decimal(0)) if lines else None,
        "shipping_cost": money(payload.get("delivery_price")),
        "discount": money(payload.get("discount")),
        "cod": cod,
        "payment_method": text(payload.get("payment_type")),
        "tracking_number": text(payload.get("tracking_number")),
        "tracking_url": text(payload.get("tracking_url")),
        "shipping_address": _address(shipping),
        "billing_address": _address(payload.get("billing_address")),
        "lines": lines,
        "status_history": history,
        "extra": _extra(payload),
    }


#: Consignment codes that mean an order status (docs/channels-mall.md "Consignment history").
CONSIGNMENT = {
    "DELIVERED": "delivered", "RETURNING": "returning", "RETURNED": "returned", "LOST": "lost",
}  # fmt: skip


def _history(payload: Mapping[str, Any]) -> list[tuple[str, datetime, str]]:
    """One entry per non-null status timestamp, by time, ties in lifecycle order; then each
    consignment entry meaning a status no timestamp carries, after the timestamps at a tie."""
    stamped = [(instant(payload.get(word)), LIFECYCLE.index(word), word) for word in STATUS]
    ordered = sorted((at, rank, word) for at, rank, word in stamped if at is not None)
    entries = [(STATUS[word], at, rank) for at, rank, word in ordered]
    carried = {status for status, _, _ in entries}
    for number, item in enumerate(payload.get("consignment_status_history") or []):
        status = CONSIGNMENT.get(item["status"])
        entry = (status, instant(item["date"]), len(LIFECYCLE) + number)
        if (
            status is not None
            and status not in carried
            and entry[:2] not in [e[:2] for e in entries]
        ):
            entries.append(entry)
    entries.sort(key=lambda entry: (entry[1], entry[2]))
    return [(status, at, "channel") for status, at, _ in entries]


def _payment(word: str, cod: Decimal | None, history: list[tuple[str, datetime, str]]) -> str:
    """docs/channels-mall.md "Payment status": blocked unpaid, prepaid paid, COD once delivered."""
    if word == "blocked":
        return "unpaid"
    if cod is None:
        return "paid"
    delivered = any(status == "delivered" for status, _, _ in history)
    return "paid" if word == "delivered" or (word == "returned" and delivered) else "unpaid"


def _total(payload: Mapping[str, Any], lines: list[dict[str, Any]], cod: Decimal | None) -> Any:
    """`price`; else items + delivery + COD fee - discount; with no items the COD amount."""
    if (price := money(payload.get("price"))) is not None:
        return price
    if not lines:
        return cod or Decimal(0)
    charges = [money(payload.get(k)) or Decimal(0) for k in ("delivery_price", "cod_price")]
    discount = money(payload.get("discount")) or Decimal(0)
    return sum((x["total"] for x in lines), Decimal(0)) + sum(charges, Decimal(0)) - discount


def _line(number: int, item: Mapping[str, Any]) -> dict[str, Any]:
    """A MALL item: price includes VAT, `vat` a percentage; line id its position."""
    quantity = int(item["quantity"])
    unit = money(item["price"])
    assert unit is not None
    rate = money(item.get("vat")) or Decimal(0)
    total = unit * quantity
    return line(
        line_id=str(number),
        sku=text(item.get("id")),
        name=text(item.get("title")) or "",
        type="article",
        quantity=quantity,
        unit_price=unit,
        tax_rate=rate,
        tax_amount=cents(total * rate / (100 + rate)),
        total=total,
    )


def _address(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return address(**{key: text(value.get(key)) for key in ADDRESS_MAPPED})


def _extra(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The fields without a canonical place, verbatim; nested leftovers under their own keys."""
    extra = {key: value for key, value in payload.items() if key not in MAPPED}
    items = {
        str(n): {k: v for k, v in item.items() if k not in ITEM_MAPPED}
        for n, item in enumerate(payload.get("items") or [], start=1)
    }
    if any(items.values()):
        extra["items_extra"] = {n: rest for n, rest in items.items() if rest}
    for key, name in (("address", "address_extra"), ("billing_address", "billing_address_extra")):
        rest = {k: v for k, v in (payload.get(key) or {}).items() if k not in ADDRESS_MAPPED}
        if rest:
            extra[name] = rest
    return extra
