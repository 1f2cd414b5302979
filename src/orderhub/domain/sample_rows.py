"""The sample orders of `samples.generate_orders` as flat rows, straight from the random stream.

A bulk load (`orderhub generate`) needs rows, not `Order` objects: building the objects, then
their JSON and their columns' values cost ~150 us an order; this makes the same values in ~25.
Each row is EXACTLY what `generate_orders(count, seed, start)` (default accounts, no anchor)
gives, field for field: the random numbers are drawn in the same order, and the money is
computed in whole cents with the same rounding (half to even) as its `Decimal.quantize`
(tests/test_ingest.py compares both paths). Keep the two in step when either changes.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from orderhub.domain.samples import (
    _CHANNEL_STATUS,
    _CITIES,
    _FIRST,
    _LAST,
    _PATH_TABLE,
    _PAYMENTS,
    _PRODUCTS,
    _VAT,
    ACCOUNTS,
    ANCHOR,
    CHUNK,
    Account,
    _external_number,
    _payment_status,
)
from orderhub.domain.status import Status

#: The fields of a row, in order: an order's scalar fields but `id`, then its nested parts.
ROW_FIELDS = (
    *("channel", "channel_type", "external_id", "status", "channel_status", "payment_status"),
    *("confirmed", "test", "created_at", "updated_at", "ship_date", "delivered_at"),
    *("customer_id", "customer", "email", "phone", "country", "currency", "total", "subtotal"),
    *("shipping_cost", "discount", "tax_total", "cod", "payment_method", "tracking_number"),
    *("tracking_url", "carrier", "vendor_ref", "language", "push_status", "push_error"),
    *("shipping_address", "billing_address", "lines", "status_history", "extra"),
)


@dataclass(frozen=True, slots=True)
class RowFormat:
    """How a row writes what is not text: a zoned time (its UTC day and clock, "2026-05-31",
    "18:50:21"), an amount (whole cents), an integer, a flag, an absent value."""

    moment: Callable[[str, str], Any]
    money: Callable[[int], Any]
    integer: Callable[[int], Any]
    true: Any
    false: Any
    null: Any


@dataclass(frozen=True, slots=True)
class _Path:
    """A status path and what follows from it, worked out once."""

    statuses: tuple[Status, ...]
    #: The history's JSON with a %s for each change's time ("2026-05-31T18:50:21").
    history: str
    status: str
    placed: bool
    delivered: bool
    shipped: bool
    #: The payment status without and with cash on delivery.
    payment: tuple[str, str]

    @classmethod
    def of(cls, statuses: tuple[Status, ...]) -> _Path:
        changes = (f'{{"status":"{s.value}","at":"%sZ","source":"channel"}}' for s in statuses)
        last = statuses[-1]
        return cls(
            statuses,
            f"[{','.join(changes)}]",
            last.value,
            last is not Status.PENDING,
            last is Status.DELIVERED,
            Status.SHIPPED in statuses,
            (_payment_status(last, False).value, _payment_status(last, True).value),
        )


_PATHS = tuple(_Path.of(path) for path in _PATH_TABLE)
_CHANNEL_STATUS_TEXT = {
    (account.name, status): _CHANNEL_STATUS.get(account.type, {}).get(status, status.value)
    for account in ACCOUNTS
    for status in Status
}
_ANCHOR_S = int(ANCHOR.timestamp())
_EPOCH_ORDINAL = datetime(1970, 1, 1, tzinfo=UTC).toordinal()
_DAY = 86_400
_EXTRA = '{"generated":true}'


def sample_rows(count: int, seed: int, start: int, fmt: RowFormat) -> Iterator[tuple[Any, ...]]:
    """Rows (ROW_FIELDS) of orders number start..start+count-1 of `seed`'s sequence."""
    end = start + count
    for chunk in range(start // CHUNK, (end + CHUNK - 1) // CHUNK):
        draw = random.Random(f"{seed}:{chunk}").random
        for number in range(chunk * CHUNK, (chunk + 1) * CHUNK):
            account = ACCOUNTS[int(draw() * len(ACCOUNTS))]
            if start <= number < end:
                yield _row(draw, account, _external_number(account, seed, number), fmt)
            else:
                _row(draw, account, 0, fmt)  # keep the stream aligned for partial chunks


def _row(draw: Callable[[], float], account: Account, number: int, fmt: RowFormat) -> tuple:
    created = _ANCHOR_S - int(draw() * (365 * _DAY))
    path = _PATHS[int(draw() * len(_PATHS))]
    times = []
    at = created
    for _ in path.statuses:
        times.append(at)
        at += 600 + int(draw() * (3 * _DAY - 600))
    updated = times[-1]
    name = f"{_FIRST[int(draw() * len(_FIRST))]} {_LAST[int(draw() * len(_LAST))]}"
    address = _address(draw, account, name)
    lines, subtotal, tax_total = _lines(draw, account)
    shipping = (0, 2, 4, 5)[int(draw() * 4)] * account.price_scale * 5
    discount = _half_even(subtotal * (0, 0, 0, 5, 10)[int(draw() * 5)], 100)
    total = subtotal + shipping - discount
    cod = draw() < 0.2
    confirmed = path.placed and draw() < 0.9
    test = draw() < 0.02
    ship_date = _day(created + (1 + int(draw() * 3)) * _DAY) if path.placed else fmt.null
    customer_id = account.first_id * 10 + 1 + int(draw() * 49_999)
    email = (
        f"{name.lower().replace(' ', '.')}{int(draw() * 100)}@example.com"
        if draw() < 0.95
        else fmt.null
    )
    phone = f"+{10**10 + int(draw() * (10**11 - 10**10))}"
    money, null = fmt.money, fmt.null
    updated_at = fmt.moment(_day(updated), _clock(updated))
    return (
        account.name,
        account.type.value,
        str(number),
        path.status,
        _CHANNEL_STATUS_TEXT[account.name, path.statuses[-1]],
        path.payment[cod],
        fmt.true if confirmed else fmt.false,
        fmt.true if test else fmt.false,
        fmt.moment(_day(created), _clock(created)),
        updated_at,
        ship_date,
        updated_at if path.delivered else null,
        fmt.integer(customer_id),
        name,
        email,
        phone,
        account.country,
        account.currency,
        money(total),
        money(subtotal),
        money(shipping),
        money(discount),
        money(tax_total),
        money(total) if cod else null,
        "cod" if cod else _PAYMENTS[int(draw() * len(_PAYMENTS))],
        f"TRK{number}" if path.shipped else null,
        f"https://track.example.com/TRK{number}" if path.shipped else null,
        null,
        null,
        account.language,
        null,
        null,
        address,
        address,
        lines,
        path.history % tuple(f"{_day(t)}T{_clock(t)}" for t in times),
        _EXTRA,
    )


def _address(draw: Callable[[], float], account: Account, name: str) -> str:
    street = f"{_LAST[int(draw() * len(_LAST))]}str. {1 + int(draw() * 120)}"
    cities = _CITIES[account.country]
    city = cities[int(draw() * len(cities))]
    zip_code = 10_000 + int(draw() * 89_999)
    return (
        f'{{"name":"{name}","company":null,"street":"{street}","street2":null,'
        f'"city":"{city}","zip":"{zip_code}","region":null,"country":"{account.country}",'
        '"phone":null,"email":null}'
    )


def _lines(draw: Callable[[], float], account: Account) -> tuple[str, int, int]:
    """The lines' JSON, their total and their tax (cents)."""
    rate = int(_VAT[account.country])
    rate_text = _money_text(rate * 100)
    parts = []
    subtotal = tax_total = 0
    for index in range(1 + int(draw() * 5)):
        quantity = (1, 1, 1, 2, 3)[int(draw() * 5)]
        unit = (20 + int(draw() * 380)) * account.price_scale
        total = unit * quantity
        tax = _half_even(total * rate, 100 + rate)
        sku = int(draw() * 10_000)
        product = _PRODUCTS[int(draw() * len(_PRODUCTS))]
        subtotal += total
        tax_total += tax
        parts.append(
            f'{{"line_id":"{index + 1}","sku":"SKU-{sku:05d}","name":"{product}",'
            f'"type":"article","quantity":{quantity},"unit_price":{_money_text(unit)},'
            f'"tax_rate":{rate_text},"tax_amount":{_money_text(tax)},'
            f'"total":{_money_text(total)},"delivered_quantity":0,"cancelled_quantity":0,'
            '"returned_quantity":0}'
        )
    return f"[{','.join(parts)}]", subtotal, tax_total


def _half_even(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to an integer, halves to even (Decimal's quantize)."""
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2):
        return quotient + 1
    return quotient


def _money_text(cents: int) -> str:
    """jsonfmt.money_text of a non-negative amount with two decimal places."""
    text = _MONEY.get(cents)
    if text is None:
        text = _MONEY[cents] = f"{cents // 100}.{cents % 100:02d}"
    return text


_MONEY: dict[int, str] = {}


_DAYS: dict[int, str] = {}
_CLOCKS: dict[int, str] = {}


def _day(seconds: int) -> str:
    """The UTC day of a time (seconds since the epoch), "2026-05-31"."""
    day = seconds // _DAY
    text = _DAYS.get(day)
    if text is None:
        text = _DAYS[day] = date.fromordinal(_EPOCH_ORDINAL + day).isoformat()
    return text


def _clock(seconds: int) -> str:
    """The UTC time of day of a time (seconds since the epoch), "18:50:21"."""
    second = seconds % _DAY
    text = _CLOCKS.get(second)
    if text is None:
        hours, rest = divmod(second, 3600)
        text = _CLOCKS[second] = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
    return text
