"""CS-Cart order details written by the sandbox itself, in the shop's own words and types.

The sandbox does not use the hub's codec to build its orders: it writes each one here from a
generated (canonical) order, so that a mistake in the codec cannot hide itself by being made in
both directions. CS-Cart's spelling (seed 002): a status letter, every number a string (ids,
Unix seconds, amounts with two decimals), the customer as `firstname`/`lastname`, addresses as
`s_*` (shipping) and `b_*` (billing) fields, `products` keyed by item id, `taxes` naming the
items they apply to. Like the shop, the details name no currency (the shop's primary one).
"""

from __future__ import annotations

import random
from datetime import datetime
from decimal import Decimal
from typing import Any

from orderhub.domain import Address, Order, OrderLine

#: CS-Cart payment ids of the generator's payment methods.
PAYMENT_IDS = {"card": "1", "paypal": "2", "bank_transfer": "3", "invoice": "4", "cod": "5"}
#: Letters that carry an invoice.
INVOICED = frozenset("CGH")
COUNTRY_NAMES = {"DE": "Germany"}
#: The German state of each generated city: (code, name).
STATES = {
    "Berlin": ("BE", "Berlin"),
    "Hamburg": ("HH", "Hamburg"),
    "Koeln": ("NW", "Nordrhein-Westfalen"),
}
#: Shares of orders with a second address line, and with a billing address of their own.
ADDRESS_2_SHARE = 0.2
OTHER_BILLING_SHARE = 0.25
#: Share of orders whose products carry no `tax_value` (the tax follows from `taxes`).
NO_TAX_VALUE_SHARE = 0.3
#: Share of orders the merchant gave a reference of their own in the shop (`vendor_ref`).
VENDOR_REF_SHARE = 0.1


def unix(at: datetime) -> str:
    """A time as CS-Cart writes it: Unix seconds, as a string."""
    return str(int(at.timestamp()))


def amount(value: Decimal | None) -> str:
    """An amount as CS-Cart writes it: a string with two decimals."""
    return f"{value or Decimal(0):.2f}"


def cscart_payload(
    order: Order, letter: str, user_id: int | None, rng: random.Random
) -> dict[str, Any]:
    """The order details of a generated order in status `letter` (guests: user_id None)."""
    first, _, last = (order.customer or "").partition(" ")
    item_base = rng.randrange(10**9, 4 * 10**9)
    with_tax_value = rng.random() >= NO_TAX_VALUE_SHARE
    products = {
        str(item_base + n): _product(str(item_base + n), line, with_tax_value)
        for n, line in enumerate(order.lines)
    }
    taxes = _taxes(order.lines, list(products), order.shipping_cost or Decimal(0))
    reference = {"vendor_ref": f"PO-{order.external_id}"} if rng.random() < VENDOR_REF_SHARE else {}
    return reference | {
        "order_id": order.external_id,
        "status": letter,
        "timestamp": unix(order.created_at),
        "updated_at": unix(order.updated_at),
        "company_id": "1",
        "issuer_id": "",
        "user_id": str(user_id or 0),
        "firstname": first,
        "lastname": last,
        "email": order.email or "",
        "phone": order.phone or "",
        "lang_code": order.language or "",
        "total": amount(order.total),
        "discount": amount(order.discount),
        "subtotal": amount(order.subtotal),
        "shipping_cost": amount(order.shipping_cost),
        "tax_subtotal": amount(
            sum((Decimal(t["tax_subtotal"]) for t in taxes.values()), Decimal(0))
        ),
        **_shop_fields(order, letter),
        "products": products,
        "taxes": taxes,
        **_addresses(order, rng),
    }


def _product(item_id: str, line: OrderLine, with_tax_value: bool) -> dict[str, Any]:
    product = {
        "item_id": item_id,
        "product_id": str(int((line.sku or "0").removeprefix("SKU-")) + 1),
        "product_code": line.sku or "",
        "product": line.name,
        "price": amount(line.unit_price),
        "amount": str(line.quantity),
        "subtotal": amount(line.total),
    }
    return product | ({"tax_value": amount(line.tax_amount)} if with_tax_value else {})


def _taxes(lines: list[OrderLine], item_ids: list[str], shipping: Decimal) -> dict[str, Any]:
    """One VAT per rate (tax ids from 6), prices including it, applied to its items; the first
    also to the shipping cost, so the order's tax is more than its products' tax."""
    taxes: dict[str, Any] = {}
    by_rate: dict[str, dict[str, Any]] = {}
    for line, item_id in zip(lines, item_ids, strict=True):
        if not line.tax_rate:
            continue
        rate = f"{line.tax_rate:.3f}"
        if rate not in by_rate:
            by_rate[rate] = taxes[str(6 + len(taxes))] = _tax(rate)
        tax = by_rate[rate]
        tax["applies"]["items"]["P"][item_id] = True
        tax["applies"]["P"] = amount(Decimal(tax["applies"]["P"]) + line.tax_amount)
    for tax in list(taxes.values())[:1]:
        percent = Decimal(tax["rate_value"])
        tax["applies"]["S"] = amount(shipping * percent / (100 + percent))
    for tax in taxes.values():
        tax["tax_subtotal"] = amount(Decimal(tax["applies"]["P"]) + Decimal(tax["applies"]["S"]))
    return taxes


def _tax(rate: str) -> dict[str, Any]:
    return {
        "rate_type": "P",
        "rate_value": rate,
        "price_includes_tax": "Y",
        "regnumber": "",
        "priority": "0",
        "tax_subtotal": "0.00",
        "description": "MwSt",
        "applies": {"P": "0.00", "S": "0.00", "items": {"S": {}, "P": {}}},
    }


def _addresses(order: Order, rng: random.Random) -> dict[str, str]:
    shipping = order.shipping_address or Address()
    second = f"Hinterhaus {rng.randrange(1, 5)}" if rng.random() < ADDRESS_2_SHARE else ""
    billing = _other_billing(order, rng) if rng.random() < OTHER_BILLING_SHARE else None
    return {
        **_address("s_", shipping, order.phone, second),
        **_address("b_", billing or order.billing_address or Address(), order.phone, second),
    }


def _other_billing(order: Order, rng: random.Random) -> Address:
    """A billing address of the customer's own, elsewhere in the same city."""
    shipping = order.shipping_address or Address()
    return Address(
        name=shipping.name,
        street=f"Rechnungsweg {rng.randrange(1, 200)}",
        city=shipping.city,
        zip=f"{rng.randrange(10000, 99999)}",
        country=shipping.country,
    )


def _address(prefix: str, found: Address, phone: str | None, second: str) -> dict[str, str]:
    first, _, last = (found.name or "").partition(" ")
    state, state_name = STATES.get(found.city or "", ("", ""))
    fields = {
        "firstname": first,
        "lastname": last,
        "address": found.street or "",
        "address_2": second,
        "city": found.city or "",
        "state": state,
        "state_descr": state_name,
        "country": found.country or "",
        "country_descr": COUNTRY_NAMES.get(found.country or "", found.country or ""),
        "zipcode": found.zip or "",
        "phone": phone or "",
    }
    return {prefix + key: value for key, value in fields.items()}


def _shop_fields(order: Order, letter: str) -> dict[str, Any]:
    """The order details fields of seed 002 that have no canonical place."""
    method = order.payment_method or "card"
    number = int(order.external_id)
    return {
        "subtotal_discount": "0.00",
        "display_subtotal": amount(order.subtotal),
        "invoice_id": invoice_id(number) if letter in INVOICED else "",
        "credit_memo_id": str(number) if letter == "H" else "",
        "payment_id": PAYMENT_IDS.get(method, "1"),
        "payment_info": [],
        "payment_method": {"payment_id": PAYMENT_IDS.get(method, "1"), "payment": method},
        "payment_surcharge": "0.00",
        "repaid": "1" if letter == "H" else "0",
        "promotion_ids": "",
        "promotions": [],
        "need_shipping": True,
        "shipping_ids": "1",
        "shipping_id": "1",
        "shipping": [{"shipping_id": "1", "shipping": "DHL Paket"}],
        "need_shipment": letter in "PB",
        "shipment_ids": "",
        "display_shipping_cost": amount(order.shipping_cost),
        "tax_exempt": "N",
        "notes": "",
        "details": "",
    }


def invoice_id(order_id: int) -> str:
    """The invoice number the shop gives an order once it is complete."""
    return str(order_id % 10_000_000 + 1)
