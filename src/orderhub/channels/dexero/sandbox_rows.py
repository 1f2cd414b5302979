"""The Dexero sandbox's starting orders as the store keeps them, straight from the random stream.

A snapshot's cold start (`sandbox_snapshot`) needs each order's list-table row and its JSON
text; the plain path builds an `Order` (`domain.samples`), reshapes it (`as_dexero`), writes its
payload dict (`dexero_payload`), then the row and the text from that. This makes the same from
the sample order's draws (`domain.sample_draws`) and Dexero's own stream of the order, called
exactly as `dexero_payload` calls it: money in whole cents (the rebate's share through Decimal,
as the plain path rounds it), times as epoch seconds. What `as_dexero` makes of a status path is
worked out once a path, by `as_dexero` itself. `_stored` is one long function on purpose: it
runs a million times a cold start. tests/channels/test_sandbox_rows.py compares both paths byte
for byte; keep them in step.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any, NamedTuple

from orderhub.channels.dexero.sandbox_orders import as_dexero
from orderhub.channels.dexero.sandbox_payload import (
    _WORDS,
    COLOURS,
    COMMENT_SHARE,
    COMPANIES,
    CUSTOM_SHARE,
    DIGITAL_SHARE,
    ENGRAVINGS,
    FORM_SHARE,
    LOCALES,
    OTHER_BILLING_SHARE,
    PARTLY_SHARE,
    PROVIDERS,
    REGIONS,
    TWICE_SHARE,
    ZONES,
)
from orderhub.domain import PaymentStatus, Status, StatusChange, StatusSource
from orderhub.domain.sample_draws import Sample, drawn_rows
from orderhub.domain.sample_rows import _clock, _day, _half_even, _money_text
from orderhub.domain.samples import _PATH_TABLE, ACCOUNTS, generate_orders
from orderhub.domain.samples import _payment_status as sample_payment

_ACCOUNT = next(account for account in ACCOUNTS if account.name == "dexero-dk")
_CENT = Decimal("0.01")
_B = ("false", "true")
#: Each zone's suffix of a time (`dexero_time`).
_SUFFIXES = {
    minutes: "Z" if minutes == 0 else
    f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    for minutes in ZONES
}  # fmt: skip


def dexero_rows(
    count: int, seed: int, start: int = 0, anchor: datetime | None = None
) -> tuple[datetime | None, list[tuple[Any, ...]]] | None:
    """Orders start..start+count-1 of the Dexero sandbox as `DexeroStore.stored` keeps them
    (row values, JSON text without forms, the forms' JSON), and the latest time any of them
    carries; None for an anchor this does not model (`sample_draws.anchor_seconds`)."""
    return drawn_rows(count, seed, start, _ACCOUNT, anchor, lambda sample: _stored(sample, seed))


class _Shape(NamedTuple):
    """What `as_dexero` makes of a generated status path (with or without cash on delivery)."""

    status: Status
    #: The status word; None for a cancelled order (it draws its spelling).
    word: str | None
    #: The index of the generated time its last change carries (its `updated_at`).
    last: int
    payment: PaymentStatus


@cache
def _shape(path_index: int, cod: bool) -> _Shape:
    """`as_dexero` of an order on the path, its times the path's indexes (seconds)."""
    path = _PATH_TABLE[path_index]
    template = next(generate_orders(1, 0, accounts=[_ACCOUNT]))
    at = [datetime.fromtimestamp(i, UTC) for i in range(len(path))]
    history = [StatusChange(s, at[i], StatusSource.CHANNEL) for i, s in enumerate(path)]
    generated = replace(
        template,
        status=path[-1],
        status_history=history,
        created_at=at[0],
        updated_at=at[-1],
        payment_status=sample_payment(path[-1], cod),
    )
    shaped = as_dexero(generated)
    word = shaped.channel_status if shaped.status is Status.OPEN else _WORDS[shaped.status]
    last = int(shaped.updated_at.timestamp())
    cancelled = shaped.status is Status.CANCELLED
    return _Shape(shaped.status, None if cancelled else word, last, shaped.payment_status)


def _time(seconds: int, offset: int) -> str:
    """`dexero_time` of an epoch second in the zone `offset` (minutes)."""
    local = seconds + offset * 60
    return f"{_day(local)}T{_clock(local)}{_SUFFIXES[offset]}"


def _stored(sample: Sample, seed: int) -> tuple[tuple[Any, ...], int]:
    """One order's row values, JSON text without forms and its forms' JSON (`to_payload`, then
    `DexeroStore.stored`), and its last change's time."""
    number = sample.number
    shape = _shape(sample.path_index, sample.cod)
    rng = random.Random(f"dexero:{seed}:{number}")
    offset = rng.choice(ZONES)
    products, gross, net, tax, engravings, colours = _products(sample, rng)
    shipping = sample.shipping
    total = net + shipping
    provider, card = rng.choice(PROVIDERS)
    digital = rng.random() < DIGITAL_SHARE
    address = (sample.name, f'"{sample.phone}"', str(sample.zip_code), sample.street, sample.city)
    if digital:
        shipping_address = "null"
        billing = _address(*address, _address_draws(rng))
    else:
        shipping_address = _address(*address, _address_draws(rng))
        billing = shipping_address
        if rng.random() < OTHER_BILLING_SHARE:  # someone else's: no phone number
            drawn = _address_draws(rng)
            payer = f"{rng.choice(COMPANIES)} att. {sample.name}"
            street = f"Faktura {rng.randrange(1, 99)}"
            billing = _address(payer, "null", address[2], street, "Kobenhavn", drawn)
    payment, refunded, left = _payment_totals(rng, shape.payment, total)
    comment = '"Ring venligst på"' if rng.random() < COMMENT_SHARE else "null"
    locale = rng.choice(LOCALES)
    ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    word = shape.word
    if word is None:
        word = "canceled" if rng.random() < 0.3 else "cancelled"
    forms = _form(rng, number) if rng.random() < FORM_SHARE else ""
    total_text = _money_text(total)
    payment_text = _money_text(payment)
    email = sample.email or ""
    times = sample.times
    updated = times[shape.last]
    head = (
        f'{{"id":{number},"customer_id":{sample.customer_id},'
        f'"purchase_date":"{_time(times[0], offset)}","currency":"DKK",'
        f'"customer_comment":{comment},"customer_email":"{email}","locale":"{locale}",'
        f'"subtotal_order":{_money_text(gross)},"subtotal_cancelled":0.00,'
        f'"total_order":{total_text},'
        f'"total_cancelled":{total_text if shape.status is Status.CANCELLED else "0.00"},'
        f'"total_products":{_money_text(net)},"total_payment":{payment_text},'
        f'"total_refunded":{_money_text(refunded)},"total_transactions":{payment_text},'
        f'"total_shipping":{_money_text(shipping)},"total_left_to_pay":{_money_text(left)},'
        f'"total_tax":{_money_text(tax)},"total_tax_cancelled":0.00,"ip_address":"{ip}",'
        f'"is_archived":false,"status":"{word}","is_shippable":{_B[not digital]},'
        f'"transaction_type":"sale","payment_method":"{sample.payment}",'
        f'"payment_provider":"{provider}",'
        f'"card_type":{"null" if card is None else f"{chr(34)}{card}{chr(34)}"},'
        f'"reference_number":"DX-{number}","is_test":{_B[sample.test]},'
        f'"billing_address":{billing},"shipping_address":{shipping_address},'
    )
    tail = f',"updated_date":"{_time(updated, offset)}"' if updated != times[0] else ""
    text = f'{head}"product":[{products}],"customer":null{tail}}}'
    row = (
        number, word, int(sample.test), email.lower(), times[0] * 1_000_000,
        updated * 1_000_000, _pairs("engraving", engravings), _pairs("colour", colours),
        f"DX-{number}",
    )  # fmt: skip
    return (*row, text, forms or None), updated


def _products(sample: Sample, rng: random.Random) -> tuple[str, int, int, int, set[str], set[str]]:
    """`sandbox_payload._products`, with its draws: the products' JSON, their gross, net and tax
    (cents), and the custom fields' and attributes' values."""
    share = Decimal(sample.discount) / Decimal(sample.subtotal) if sample.discount else None
    products = []
    again: tuple[str, int, int, int] | None = None
    gross = net = tax = 0
    engravings: set[str] = set()
    colours: set[str] = set()
    for quantity, unit, sku, name, _ in sample.lines:
        line_gross = unit * quantity
        rebate = 0 if share is None else _rebate(line_gross, share)
        line_net = line_gross - rebate
        line_tax = _half_even(line_net, 5)  # net * 25 / 125, to the cent
        gross += line_gross
        net += line_net
        tax += line_tax
        common = (
            f'{{"id":{90_000 + sku},"sku":"SKU-{sku:05d}","name":"{name}","type":"buy",'
            f'"product_price":{_money_text(unit)},"total_price":{_money_text(line_net)},'
            f'"price_for_quantity":{_money_text(line_gross)},'
            f'"rebate_amount":{_money_text(rebate)},"tax_amount":{_money_text(line_tax)},'
            f'"quantity":{quantity},'
        )
        if rng.random() < CUSTOM_SHARE:
            engraving = rng.choice(ENGRAVINGS)
            colour = rng.choice(COLOURS)
            engravings.add(engraving)
            colours.add(colour)
            products.append(
                f'{common}"custom_param":[{{"identifier":"engraving","value":"{engraving}"}}],'
                f'"attribute":[{{"identifier":"colour","value":"{colour}"}}]}}'
            )
        else:
            products.append(f'{common}"custom_param":[],"attribute":[]}}')
        if again is None:  # the first product, without its custom fields and attributes
            again = (f'{common}"custom_param":[],"attribute":[]}}', line_gross, line_net, line_tax)
    if again is not None and rng.random() < TWICE_SHARE:
        products.append(again[0])  # the same product bought again: Dexero repeats its id
        gross, net, tax = gross + again[1], net + again[2], tax + again[3]
    return ",".join(products), gross, net, tax, engravings, colours


def _rebate(gross: int, share: Decimal) -> int:
    """A line's rebate (cents): `_money(gross * share)`, in Decimal as the plain path."""
    return int((Decimal(gross).scaleb(-2) * share).quantize(_CENT).scaleb(2))


def _pairs(identifier: str, values: set[str]) -> str:
    """The row's (identifier, value) pairs as `sandbox_store._pairs` writes them."""
    return "[" + ", ".join(f'["{identifier}", "{v}"]' for v in sorted(values)) + "]"


def _address_draws(rng: random.Random) -> tuple[str, str, str]:
    """`sandbox_payload._address`'s draws: its company (as JSON), country and region."""
    company = f'"{rng.choice(COMPANIES)}"' if rng.random() < 0.1 else "null"
    country = "dk" if rng.random() < 0.1 else "DK"
    region = rng.choice(REGIONS) if rng.random() < 0.5 else ""
    return company, country, region


def _address(name: str, phone: str, zip_code: str, street: str, city: str,
             drawn: tuple[str, str, str]) -> str:  # fmt: skip
    """An address's JSON (`phone` already JSON)."""
    company, country, region = drawn
    return (
        f'{{"name":"{name}","phone_number":{phone},"postal_code":"{zip_code}",'
        f'"company":{company},"street_address":"{street}","city":"{city}",'
        f'"iso_country":"{country}","iso_region":"{region}"}}'
    )


def _payment_totals(rng: random.Random, payment: PaymentStatus, total: int) -> tuple[int, int, int]:
    """`sandbox_payload._payment_totals`, with its draw: (paid, refunded, left to pay), cents."""
    partly = rng.random() < PARTLY_SHARE and total > 1
    part = (total + 1) // 3 if partly else 0  # total / 3 to the nearest cent (never a half)
    if payment is PaymentStatus.REFUNDED:
        return total, total, 0
    if payment is PaymentStatus.PAID:
        return total, part, 0
    return part, 0, total - part


def _form(rng: random.Random, number: int) -> str:
    """`sandbox_payload._form`'s JSON, with its draw."""
    return (
        f'{{"title":"Gift wrapping","quantity_number":1,"product_id":{number * 10 + 1},'
        f'"value":[{{"id":{number * 100 + 1},"identifier":"gift_message","label":"Message",'
        f'"value":"{rng.choice(ENGRAVINGS)}","fileName":"","fileSizeBytes":"",'
        '"fileContentBase64":""}]}'
    )
