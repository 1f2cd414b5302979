"""Realistic sample orders (pure, no I/O): the demo, the sandboxes, the tests, the benchmarks."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from orderhub.domain.order import Address, LineType, Order, OrderLine, StatusChange, StatusSource
from orderhub.domain.status import ChannelType, PaymentStatus, Status

T = TypeVar("T")

#: Orders are placed in the year before this instant, so a seed always gives the same orders.
ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    type: ChannelType
    currency: str
    country: str
    language: str
    first_id: int
    #: Typical unit price in the account's currency.
    price_scale: int


ACCOUNTS = (
    Account("mall-cz", ChannelType.MALL, "CZK", "CZ", "cs", 4_300_000_000, 600),
    Account("mall-sk", ChannelType.MALL, "EUR", "SK", "sk", 5_300_000_000, 25),
    Account("mall-hu", ChannelType.MALL, "HUF", "HU", "hu", 6_300_000_000, 9000),
    Account("shop-de", ChannelType.CSCART, "EUR", "DE", "de", 10_000, 30),
    Account("dexero-dk", ChannelType.DEXERO, "DKK", "DK", "da", 700_000, 180),
    Account("cdon-se", ChannelType.CDON, "SEK", "SE", "sv", 42_000_000, 250),
    Account("cdon-no", ChannelType.CDON, "NOK", "NO", "no", 52_000_000, 250),
)

_CHANNEL_STATUS = {
    ChannelType.MALL: {
        Status.PENDING: "blocked",
        Status.BACKORDERED: "open",
        Status.RETURNING: "shipped",
        Status.FAILED: "cancelled",
    },
    ChannelType.CSCART: {
        Status.PENDING: "O",
        Status.OPEN: "P",
        Status.BACKORDERED: "B",
        Status.SHIPPING: "P",
        Status.SHIPPED: "C",
        Status.DELIVERED: "C",
        Status.RETURNING: "G",
        Status.RETURNED: "H",
        Status.CANCELLED: "D",
        Status.FAILED: "F",
        Status.LOST: "C",
    },
    ChannelType.DEXERO: {
        Status.PENDING: "pending",
        Status.OPEN: "pending",
        Status.SHIPPING: "treated",
        Status.SHIPPED: "completed",
        Status.DELIVERED: "completed",
        Status.CANCELLED: "cancelled",
    },
    ChannelType.CDON: {
        Status.PENDING: "Pending",
        Status.OPEN: "Pending",
        Status.SHIPPING: "Pending",
        Status.SHIPPED: "Delivered",
        Status.DELIVERED: "Invoiced",
        Status.RETURNED: "Returned",
        Status.CANCELLED: "Cancelled",
    },
}

#: How orders are spread over statuses, and the path that leads to each.
_PATHS: tuple[tuple[int, tuple[Status, ...]], ...] = (
    (5, (Status.PENDING,)),
    (20, (Status.PENDING, Status.OPEN)),
    (2, (Status.PENDING, Status.OPEN, Status.BACKORDERED)),
    (5, (Status.PENDING, Status.OPEN, Status.SHIPPING)),
    (22, (Status.PENDING, Status.OPEN, Status.SHIPPING, Status.SHIPPED)),
    (30, (Status.PENDING, Status.OPEN, Status.SHIPPING, Status.SHIPPED, Status.DELIVERED)),
    (1, (Status.PENDING, Status.OPEN, Status.SHIPPED, Status.DELIVERED, Status.RETURNING)),
    (3, (Status.PENDING, Status.OPEN, Status.SHIPPED, Status.DELIVERED, Status.RETURNED)),
    (8, (Status.PENDING, Status.OPEN, Status.CANCELLED)),
    (2, (Status.PENDING, Status.CANCELLED)),
    (1, (Status.PENDING, Status.FAILED)),
    (1, (Status.PENDING, Status.OPEN, Status.SHIPPED, Status.LOST)),
)
_PATH_TABLE = tuple(path for weight, path in _PATHS for _ in range(weight))

_FIRST = (
    "Jan",
    "Petra",
    "Lukas",
    "Eva",
    "Anna",
    "Erik",
    "Sofia",
    "Lars",
    "Ingrid",
    "Tomas",
    "Marek",
    "Zsofia",
    "Bence",
    "Hanne",
    "Mads",
    "Klara",
    "Jonas",
    "Lena",
    "Pavel",
    "Nora",
)
_LAST = (
    "Novak",
    "Svoboda",
    "Horvath",
    "Nagy",
    "Andersson",
    "Johansson",
    "Hansen",
    "Nielsen",
    "Larsen",
    "Berg",
    "Muller",
    "Schmidt",
    "Kovac",
    "Dvorak",
    "Lindqvist",
    "Olsen",
)
_CITIES = {
    "CZ": ("Praha", "Brno", "Ostrava"),
    "SK": ("Bratislava", "Kosice"),
    "HU": ("Budapest", "Debrecen"),
    "DE": ("Berlin", "Hamburg", "Koeln"),
    "DK": ("Kobenhavn", "Aarhus"),
    "SE": ("Stockholm", "Goteborg", "Malmo"),
    "NO": ("Oslo", "Bergen"),
}
_PRODUCTS = (
    "Wireless headphones",
    "Espresso machine",
    "Running shoes",
    "Desk lamp",
    "Board game",
    "Backpack",
    "Phone case",
    "Water bottle",
    "Blender",
    "Yoga mat",
    "Kettle",
    "Winter jacket",
    "Smart watch",
    "Cookware set",
    "Garden hose",
)
_PAYMENTS = ("card", "bank_transfer", "paypal", "invoice")
_VAT = {
    "CZ": Decimal("21"),
    "SK": Decimal("23"),
    "HU": Decimal("27"),
    "DE": Decimal("19"),
    "DK": Decimal("25"),
    "SE": Decimal("25"),
    "NO": Decimal("25"),
}
_CENT = Decimal("0.01")


CHUNK = 1_000


def generate_orders(
    count: int,
    seed: int,
    start: int = 0,
    accounts: Sequence[Account] = ACCOUNTS,
    anchor: datetime | None = None,
) -> Iterator[Order]:
    """Yield orders number start..start+count-1 of the sequence that `seed` defines.

    Each chunk of CHUNK orders has its own random stream, so any split of the work into
    chunks (one process or many) gives exactly the same orders.

    Without `anchor`, orders are placed in the year before ANCHOR and their histories run on
    past it (the fixed orders every test and benchmark knows). With `anchor` (the demo's "now"),
    they are the orders as they stand at that instant: placed in the year before it, every
    time they carry at or before it (an order whose history would run past it has all its
    times moved back by the excess). Everything but the times is the same either way.
    """
    end = start + count
    for chunk in range(start // CHUNK, (end + CHUNK - 1) // CHUNK):
        rng = _Dice(random.Random(f"{seed}:{chunk}"))
        for number in range(chunk * CHUNK, (chunk + 1) * CHUNK):
            account = rng.pick(accounts)
            if start <= number < end:
                yield _order(rng, account, _external_number(account, seed, number), anchor)
            else:
                _order(rng, account, 0, anchor)  # keep the stream aligned for partial chunks


def _external_number(account: Account, seed: int, number: int) -> int:
    """Distinct seeds give distinct external ids, so their orders never collide."""
    return account.first_id + (seed % 1000) * 10_000_000 + number


class _Dice:
    """random.Random's choice/randrange cost ~1us each; floats scaled by hand cost a tenth."""

    __slots__ = ("random",)

    def __init__(self, rng: random.Random) -> None:
        self.random = rng.random

    def pick(self, items: Sequence[T]) -> T:
        return items[int(self.random() * len(items))]

    def between(self, low: int, high: int) -> int:
        """An integer in [low, high)."""
        return low + int(self.random() * (high - low))


def _order(rng: _Dice, account: Account, number: int, anchor: datetime | None) -> Order:
    created = (anchor or ANCHOR) - timedelta(seconds=rng.between(0, 365 * 86400))
    path = rng.pick(_PATH_TABLE)
    history = _history(rng, path, created)
    if anchor is not None and history[-1].at > anchor:
        # Moved, not cut short: the status path (and so every other field) stays the seed's.
        excess = history[-1].at - anchor
        created -= excess
        history = [replace(change, at=change.at - excess) for change in history]
    status = path[-1]
    name = f"{rng.pick(_FIRST)} {rng.pick(_LAST)}"
    address = _address(rng, account, name)
    lines = _lines(rng, account)
    subtotal = sum((line.total for line in lines), Decimal(0))
    shipping = (Decimal(rng.pick((0, 2, 4, 5))) * account.price_scale / 20).quantize(_CENT)
    discount = (subtotal * Decimal(rng.pick((0, 0, 0, 5, 10))) / 100).quantize(_CENT)
    total = subtotal + shipping - discount
    cod = total if rng.random() < 0.2 else None
    channel_status = _CHANNEL_STATUS.get(account.type, {}).get(status, status.value)
    return Order(
        channel=account.name,
        channel_type=account.type,
        external_id=str(number),
        status=status,
        channel_status=channel_status,
        payment_status=_payment_status(status, cod is not None),
        created_at=created,
        updated_at=history[-1].at,
        currency=account.currency,
        total=total,
        confirmed=status is not Status.PENDING and rng.random() < 0.9,
        test=rng.random() < 0.02,
        ship_date=(created + timedelta(days=rng.between(1, 3 + 1))).date()
        if status is not Status.PENDING
        else None,
        delivered_at=history[-1].at if status is Status.DELIVERED else None,
        customer_id=account.first_id * 10 + rng.between(1, 50_000),
        customer=name,
        email=f"{name.lower().replace(' ', '.')}{rng.between(0, 100)}@example.com"
        if rng.random() < 0.95
        else None,
        phone=f"+{rng.between(10**10, 10**11)}",
        country=account.country,
        subtotal=subtotal,
        shipping_cost=shipping,
        discount=discount,
        tax_total=sum((line.tax_amount for line in lines), Decimal(0)),
        cod=cod,
        payment_method="cod" if cod is not None else rng.pick(_PAYMENTS),
        tracking_number=f"TRK{number}" if Status.SHIPPED in path else None,
        tracking_url=f"https://track.example.com/TRK{number}" if Status.SHIPPED in path else None,
        language=account.language,
        shipping_address=address,
        billing_address=address,
        lines=lines,
        status_history=history,
        extra={"generated": True},
    )


def _history(rng: _Dice, path: tuple[Status, ...], created: datetime) -> list[StatusChange]:
    at = created
    changes = []
    for status in path:
        changes.append(StatusChange(status, at, StatusSource.CHANNEL))
        at += timedelta(seconds=rng.between(600, 3 * 86400))
    return changes


def _address(rng: _Dice, account: Account, name: str) -> Address:
    return Address(
        name=name,
        street=f"{rng.pick(_LAST)}str. {rng.between(1, 120 + 1)}",
        city=rng.pick(_CITIES[account.country]),
        zip=f"{rng.between(10000, 99999)}",
        country=account.country,
    )


def _lines(rng: _Dice, account: Account) -> list[OrderLine]:
    rate = _VAT[account.country]
    lines = []
    for index in range(rng.between(1, 5 + 1)):
        quantity = rng.pick((1, 1, 1, 2, 3))
        unit = (Decimal(rng.between(20, 400)) * account.price_scale / 100).quantize(_CENT)
        total = unit * quantity
        tax = (total * rate / (100 + rate)).quantize(_CENT)
        lines.append(
            OrderLine(
                line_id=str(index + 1),
                sku=f"SKU-{rng.between(0, 10_000):05d}",
                name=rng.pick(_PRODUCTS),
                type=LineType.ARTICLE,
                quantity=quantity,
                unit_price=unit,
                tax_rate=rate,
                tax_amount=tax,
                total=total,
            )
        )
    return lines


def _payment_status(status: Status, cod: bool) -> PaymentStatus:
    if status in (Status.PENDING, Status.FAILED):
        return PaymentStatus.UNPAID
    if status is Status.RETURNED:
        return PaymentStatus.REFUNDED
    if status is Status.RETURNING:
        return PaymentStatus.REFUND_PENDING
    if status is Status.CANCELLED:
        return PaymentStatus.NOT_APPLICABLE
    if cod and status is not Status.DELIVERED:
        return PaymentStatus.UNPAID
    return PaymentStatus.PAID
