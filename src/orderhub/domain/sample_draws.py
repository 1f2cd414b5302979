"""The sample orders of one account (`samples.generate_orders(..., accounts=[account])`, what a
channel sandbox starts with) as plain numbers and strings, straight from the random stream.

A sandbox's snapshot (channels/sandbox_snapshot.py) needs each order's row and JSON text, not
the `Order`: this draws the same random numbers in the same order as `samples._order`, with money
in whole cents (rounded as its `Decimal.quantize`) and times in epoch seconds, so a channel can
write its JSON from them (channels/<name>/sandbox_rows.py; their tests compare with the plain
path). Keep this in step with `samples`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import NamedTuple, TypeVar

from orderhub.domain.sample_rows import _half_even
from orderhub.domain.samples import (
    _CITIES,
    _FIRST,
    _LAST,
    _PATH_TABLE,
    _PAYMENTS,
    _PRODUCTS,
    _VAT,
    ANCHOR,
    CHUNK,
    Account,
    _external_number,
)
from orderhub.domain.status import Status

T = TypeVar("T")

_DAY = 86_400


class Sample(NamedTuple):
    """A generated order's values (money in cents, times in epoch seconds, UTC)."""

    number: int
    #: Its status path (`samples._PATHS`) and that path's index in `samples._PATH_TABLE`.
    path: tuple[Status, ...]
    path_index: int
    #: When it entered each status of its path.
    times: list[int]
    name: str
    street: str
    city: str
    zip_code: int
    #: (quantity, unit price, SKU number, product, tax) of each line.
    lines: list[tuple[int, int, int, str, int]]
    subtotal: int
    shipping: int
    discount: int
    total: int
    cod: bool
    confirmed: bool
    test: bool
    #: The UTC day (days since the epoch) it ships; None while pending.
    ship_day: int | None
    customer_id: int
    email: str | None
    phone: str
    payment: str


def anchor_seconds(anchor: datetime | None) -> tuple[int, int | None] | None:
    """(the instant orders are placed the year before, the latest time they may carry) in epoch
    seconds for `anchor`; None for an anchor this does not model (one not in UTC, or with a
    fraction of a second: the plain path then makes the orders)."""
    if anchor is None:
        return int(ANCHOR.timestamp()), None
    if anchor.tzinfo is not UTC or anchor.microsecond:
        return None
    return int(anchor.timestamp()), int(anchor.timestamp())


def sample_draws(
    count: int, seed: int, start: int, account: Account, base: int, limit: int | None
) -> Iterator[Sample]:
    """Orders number start..start+count-1 of `account`'s sequence for `seed` (`anchor_seconds`
    gives `base` and `limit`)."""
    end = start + count
    for chunk in range(start // CHUNK, (end + CHUNK - 1) // CHUNK):
        draw = random.Random(f"{seed}:{chunk}").random
        for number in range(chunk * CHUNK, min((chunk + 1) * CHUNK, end)):
            draw()  # the account: there is one
            sample = _sample(draw, account, _external_number(account, seed, number), base, limit)
            if number >= start:
                yield sample


def drawn_rows(
    count: int,
    seed: int,
    start: int,
    account: Account,
    anchor: datetime | None,
    make: Callable[[Sample], tuple[T, int]],
) -> tuple[datetime | None, list[T]] | None:
    """`make`'s row of each of orders start..start+count-1 (`sample_draws`), and the latest of
    the times (epoch seconds) `make` gives with them; None for an anchor this does not model."""
    seconds = anchor_seconds(anchor)
    if seconds is None:
        return None
    out: list[T] = []
    latest: int | None = None
    for sample in sample_draws(count, seed, start, account, *seconds):
        row, carried = make(sample)
        out.append(row)
        if latest is None or carried > latest:
            latest = carried
    return (None if latest is None else datetime.fromtimestamp(latest, UTC)), out


def _sample(
    draw: Callable[[], float], account: Account, number: int, base: int, limit: int | None
) -> Sample:
    """`samples._order`'s draws, in its order."""
    created = base - int(draw() * (365 * _DAY))
    path_index = int(draw() * len(_PATH_TABLE))
    path = _PATH_TABLE[path_index]
    times = []
    at = created
    for _ in path:
        times.append(at)
        at += 600 + int(draw() * (3 * _DAY - 600))
    if limit is not None and times[-1] > limit:
        excess = times[-1] - limit  # moved, not cut short (samples._order)
        created -= excess
        times = [t - excess for t in times]
    name = f"{_FIRST[int(draw() * len(_FIRST))]} {_LAST[int(draw() * len(_LAST))]}"
    street = f"{_LAST[int(draw() * len(_LAST))]}str. {1 + int(draw() * 120)}"
    cities = _CITIES[account.country]
    city = cities[int(draw() * len(cities))]
    zip_code = 10_000 + int(draw() * 89_999)
    lines, subtotal = _lines(draw, account)
    shipping = (0, 2, 4, 5)[int(draw() * 4)] * account.price_scale * 5
    discount = _half_even(subtotal * (0, 0, 0, 5, 10)[int(draw() * 5)], 100)
    cod = draw() < 0.2
    placed = path[-1] is not Status.PENDING
    confirmed = placed and draw() < 0.9
    test = draw() < 0.02
    ship_day = created // _DAY + 1 + int(draw() * 3) if placed else None
    customer_id = account.first_id * 10 + 1 + int(draw() * 49_999)
    email = (
        f"{name.lower().replace(' ', '.')}{int(draw() * 100)}@example.com"
        if draw() < 0.95
        else None
    )
    phone = f"+{10**10 + int(draw() * (10**11 - 10**10))}"
    payment = "cod" if cod else _PAYMENTS[int(draw() * len(_PAYMENTS))]
    return Sample(number, path, path_index, times, name, street, city, zip_code, lines,
                  subtotal, shipping, discount, subtotal + shipping - discount, cod, confirmed,
                  test, ship_day, customer_id, email, phone, payment)  # fmt: skip


def _lines(
    draw: Callable[[], float], account: Account
) -> tuple[list[tuple[int, int, int, str, int]], int]:
    rate = int(_VAT[account.country])
    lines = []
    subtotal = 0
    for _ in range(1 + int(draw() * 5)):
        quantity = (1, 1, 1, 2, 3)[int(draw() * 5)]
        unit = (20 + int(draw() * 380)) * account.price_scale
        total = unit * quantity
        sku = int(draw() * 10_000)
        product = _PRODUCTS[int(draw() * len(_PRODUCTS))]
        lines.append((quantity, unit, sku, product, _half_even(total * rate, 100 + rate)))
        subtotal += total
    return lines, subtotal
