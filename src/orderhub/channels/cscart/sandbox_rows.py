"""The CS-Cart sandbox's starting orders as the store keeps them, straight from the random stream.

A snapshot's cold start (`sandbox_snapshot`) needs each order's list-table row, its details
JSON and its list summary; the plain path builds an `Order` (`domain.samples`), its payload dict
(`sandbox_orders.to_payload`), then the row and both texts from that. This makes the same from
the sample order's draws (`domain.sample_draws`) and the shop's own stream of the order, called
exactly as `to_payload` calls it. tests/channels/test_sandbox_rows.py compares both paths
byte for byte; keep them in step.
"""

from __future__ import annotations

import random
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from orderhub.channels.cscart.sandbox_orders import GUEST_SHARE, OFFLINE_PAYMENTS, STATUS_LETTERS
from orderhub.channels.cscart.sandbox_payload import (
    ADDRESS_2_SHARE,
    COUNTRY_NAMES,
    INVOICED,
    NO_TAX_VALUE_SHARE,
    OTHER_BILLING_SHARE,
    PAYMENT_IDS,
    STATES,
    VENDOR_REF_SHARE,
    amount,
    invoice_id,
)
from orderhub.domain.sample_draws import Sample, drawn_rows
from orderhub.domain.sample_rows import _money_text
from orderhub.domain.samples import _VAT, ACCOUNTS
from orderhub.domain.status import Status

_ACCOUNT = next(account for account in ACCOUNTS if account.name == "shop-de")
_RATE = _VAT[_ACCOUNT.country]
_RATE_TEXT = f"{_RATE:.3f}"
_B = ("false", "true")


def cscart_rows(
    count: int, seed: int, start: int = 0, anchor: datetime | None = None
) -> tuple[datetime | None, list[tuple[Any, ...]]] | None:
    """Orders start..start+count-1 of the CS-Cart sandbox as `SqlOrderStore.stored` keeps them
    (row values, details JSON, summary JSON), and the latest time any of them carries; None for
    an anchor this does not model (`sample_draws.anchor_seconds`)."""
    return drawn_rows(
        count,
        seed,
        start,
        _ACCOUNT,
        anchor,
        lambda sample: (_stored(sample, seed), sample.times[-1]),
    )


def _letter(sample: Sample, rng: random.Random) -> str:
    """`sandbox_orders._letter`, with its draws."""
    status = sample.path[-1]
    if status is Status.PENDING:
        if sample.payment not in OFFLINE_PAYMENTS:
            return "N"
        return "E" if rng.random() < 1 / 3 else "O"
    if status is Status.CANCELLED:
        return "I" if rng.random() < 0.5 else "D"
    return STATUS_LETTERS[status]


def _stored(sample: Sample, seed: int) -> tuple[Any, ...]:
    """One order's row values, details JSON and summary JSON (`to_payload`, then the store)."""
    number = sample.number
    rng = random.Random(f"cscart:{seed}:{number}")
    letter = _letter(sample, rng)
    user_id = 0 if rng.random() < GUEST_SHARE else sample.customer_id
    first, _, last = sample.name.partition(" ")
    item_base = rng.randrange(10**9, 4 * 10**9)
    with_tax_value = rng.random() >= NO_TAX_VALUE_SHARE
    products, taxes, tax_subtotal = _products(sample, item_base, with_tax_value)
    vendor_ref = f"PO-{number}" if rng.random() < VENDOR_REF_SHARE else None
    addresses = _addresses(sample, rng, first, last)
    invoice = invoice_id(number) if letter in INVOICED else ""
    memo = str(number) if letter == "H" else ""
    method = sample.payment
    payment_id = PAYMENT_IDS.get(method, "1")
    email = sample.email or ""
    total = _money_text(sample.total)
    reference = f'"vendor_ref":"{vendor_ref}",' if vendor_ref is not None else ""
    head = (
        f'"order_id":"{number}","issuer_id":"","user_id":"{user_id}","company_id":"1",'
        f'"timestamp":"{sample.times[0]}","updated_at":"{sample.times[-1]}",'
        f'"firstname":"{first}","lastname":"{last}","email":"{email}",'
        f'"phone":"{sample.phone}","status":"{letter}","total":"{total}",'
        f'"invoice_id":"{invoice}","credit_memo_id":"{memo}"'
    )
    summary = f"{{{head}{',' if reference else ''}{reference.rstrip(',')}}}"
    subtotal = _money_text(sample.subtotal)
    shipping = _money_text(sample.shipping)
    text = (
        f'{{{reference}"order_id":"{number}","status":"{letter}",'
        f'"timestamp":"{sample.times[0]}","updated_at":"{sample.times[-1]}",'
        f'"company_id":"1","issuer_id":"","user_id":"{user_id}","firstname":"{first}",'
        f'"lastname":"{last}","email":"{email}","phone":"{sample.phone}",'
        f'"lang_code":"{_ACCOUNT.language}","total":"{total}",'
        f'"discount":"{_money_text(sample.discount)}","subtotal":"{subtotal}",'
        f'"shipping_cost":"{shipping}","tax_subtotal":"{tax_subtotal}",'
        f'"subtotal_discount":"0.00","display_subtotal":"{subtotal}",'
        f'"invoice_id":"{invoice}","credit_memo_id":"{memo}","payment_id":"{payment_id}",'
        f'"payment_info":[],"payment_method":{{"payment_id":"{payment_id}",'
        f'"payment":"{method}"}},"payment_surcharge":"0.00",'
        f'"repaid":"{"1" if letter == "H" else "0"}","promotion_ids":"","promotions":[],'
        '"need_shipping":true,"shipping_ids":"1","shipping_id":"1",'
        '"shipping":[{"shipping_id":"1","shipping":"DHL Paket"}],'
        f'"need_shipment":{_B[letter in "PB"]},"shipment_ids":"",'
        f'"display_shipping_cost":"{shipping}","tax_exempt":"N","notes":"","details":"",'
        f'"products":{products},"taxes":{taxes},{addresses}}}'
    )
    row = (
        number, letter, sample.times[0], sample.times[-1], user_id, email.lower(),
        f"{first} {last}".strip(), int(invoice) if invoice else None, 1,
        number if memo else None, sample.total * 100, vendor_ref,
    )  # fmt: skip
    return (*row, text, summary)


def _products(sample: Sample, item_base: int, with_tax_value: bool) -> tuple[str, str, str]:
    """The products, the taxes (`sandbox_payload._taxes`: one rate, also on the shipping) and
    the order's tax, as JSON."""
    products = []
    applied = []
    tax_cents = 0
    for n, (quantity, unit, sku, product, tax) in enumerate(sample.lines):
        item_id = item_base + n
        tax_value = f',"tax_value":"{_money_text(tax)}"' if with_tax_value else ""
        products.append(
            f'"{item_id}":{{"item_id":"{item_id}","product_id":"{sku + 1}",'
            f'"product_code":"SKU-{sku:05d}","product":"{product}",'
            f'"price":"{_money_text(unit)}","amount":"{quantity}",'
            f'"subtotal":"{_money_text(unit * quantity)}"{tax_value}}}'
        )
        applied.append(f'"{item_id}":true')
        tax_cents += tax
    on_shipping = _shipping_tax(sample.shipping)
    subtotal = _money_text(tax_cents + on_shipping)
    taxes = (
        f'{{"6":{{"rate_type":"P","rate_value":"{_RATE_TEXT}","price_includes_tax":"Y",'
        f'"regnumber":"","priority":"0","tax_subtotal":"{subtotal}","description":"MwSt",'
        f'"applies":{{"P":"{_money_text(tax_cents)}","S":"{_money_text(on_shipping)}",'
        f'"items":{{"S":{{}},"P":{{{",".join(applied)}}}}}}}}}}}'
    )
    return f"{{{','.join(products)}}}", taxes, subtotal


@cache
def _shipping_tax(cents: int) -> int:
    """The VAT in a shipping cost (cents), as `_taxes` computes and writes it."""
    percent = Decimal(_RATE_TEXT)
    text = amount(Decimal(cents).scaleb(-2) * percent / (100 + percent))
    whole, _, fraction = text.partition(".")
    return int(whole) * 100 + int(fraction)


def _addresses(sample: Sample, rng: random.Random, first: str, last: str) -> str:
    """`sandbox_payload._addresses`, with its draws: shipping (s_) and billing (b_) fields."""
    second = f"Hinterhaus {rng.randrange(1, 5)}" if rng.random() < ADDRESS_2_SHARE else ""
    street, zip_code = sample.street, f"{sample.zip_code}"
    shipping = _address("s_", first, last, street, second, sample.city, zip_code, sample.phone)
    if rng.random() < OTHER_BILLING_SHARE:
        street = f"Rechnungsweg {rng.randrange(1, 200)}"
        zip_code = f"{rng.randrange(10000, 99999)}"
    billing = _address("b_", first, last, street, second, sample.city, zip_code, sample.phone)
    return f"{shipping},{billing}"


def _address(prefix: str, first: str, last: str, street: str, second: str, city: str,
             zip_code: str, phone: str) -> str:  # fmt: skip
    state, state_name = STATES.get(city, ("", ""))
    country = _ACCOUNT.country
    return (
        f'"{prefix}firstname":"{first}","{prefix}lastname":"{last}",'
        f'"{prefix}address":"{street}","{prefix}address_2":"{second}",'
        f'"{prefix}city":"{city}","{prefix}state":"{state}",'
        f'"{prefix}state_descr":"{state_name}","{prefix}country":"{country}",'
        f'"{prefix}country_descr":"{COUNTRY_NAMES.get(country, country)}",'
        f'"{prefix}zipcode":"{zip_code}","{prefix}phone":"{phone}"'
    )
