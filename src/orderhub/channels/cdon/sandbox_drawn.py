"""The CDON sandbox's starting orders as the store keeps them, straight from the random stream.

A snapshot's cold start (`sandbox_snapshot`) needs each order's list-table row and its JSON
text; the plain path builds an `Order` (`domain.samples`), places it as a CDON order and takes
it through its generated history with the sandbox's row calls (`sandbox_orders.with_history`:
dicts, Decimals, a `settle` after each call). This replays the same calls on the rows' numbers
alone (quantities, cents, states) and writes the JSON once, at the end: the sample order's draws
(`domain.sample_draws`), the order's own stream called exactly as `placed` calls it, the
ordinary price through Decimal as the plain path rounds it. tests/channels/test_sandbox_rows.py
compares both paths byte for byte; keep them in step with `sandbox_orders` and `sandbox_rows`.
"""

from __future__ import annotations

import random
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from orderhub.channels.cdon.sandbox_orders import (
    _CARERS,
    _PAY_LATER,
    CO_SHARE,
    COUNTRY,
    EMAIL_SHARE,
    MERCHANT_ID,
    OTHER_BILLING_SHARE,
    TEXT_VAT_SHARE,
)
from orderhub.channels.cdon.sandbox_payload import state_of
from orderhub.domain.sample_draws import Sample, drawn_rows
from orderhub.domain.sample_rows import _clock, _day, _half_even, _money_text
from orderhub.domain.samples import ACCOUNTS
from orderhub.domain.status import Status

_ACCOUNT = next(account for account in ACCOUNTS if account.name == "cdon-se")
_CENT = Decimal("0.01")
_FEE = 2_900  # cents
_PAID = frozenset({"Paid", "Refunded", "AwaitingRefund"})
_DONE = frozenset({"Delivered", "Invoiced", "Cancelled", "Returned"})
_PAYMENTS = ("AwaitingRefund", "AwaitingPayment", "Paid", "Refunded")
_CANCELS = frozenset({Status.CANCELLED, Status.FAILED})
#: A row's counts: quantity, delivered, invoiced, cancelled, returned (their indexes).
_QTY, _DLV, _INV, _CAN, _RET = range(5)


def cdon_drawn(
    count: int, seed: int, start: int = 0, anchor: datetime | None = None
) -> tuple[datetime | None, list[tuple[Any, ...]]] | None:
    """Orders start..start+count-1 of the CDON sandbox as `SqlOrderStore.stored` keeps them
    (row values, JSON text, no summary), and the latest time any of them carries; None for an
    anchor this does not model (`sample_draws.anchor_seconds`)."""
    return drawn_rows(count, seed, start, _ACCOUNT, anchor, lambda s: (_stored(s), s.times[-1]))


class _Order:
    """A CDON order's rows as numbers while its history is replayed (`with_history`): its
    times as the index of the generated time, its amounts as multiples of each row's price."""

    __slots__ = ("counts", "goods", "invoices", "modified", "outcome", "packed", "payment", "state")

    def __init__(self, goods: tuple[bool, ...], quantities: tuple[int, ...], paid: str) -> None:
        self.goods = goods
        #: [quantity, delivered, invoiced, cancelled, returned] of each row.
        self.counts = [[quantity, 0, 0, 0, 0] for quantity in quantities]
        #: Each row's PaymentStatus and FulfillmentStatus, and whether it went in the package.
        self.payment = [paid] * len(goods)
        self.state = ["Pending"] * len(goods)
        self.packed = [False] * len(goods)
        #: Each invoice: (its booking time, [(row index, quantity)], its credit note: the
        #: quantity of each row's price).
        self.invoices: list[tuple[int, list[tuple[int, int]], list[int]]] = []
        self.modified = 0
        #: The order's State and PaymentStatus, and its table row's four flags (`row`).
        self.outcome: tuple[str, str, tuple[int, ...]] = ("", "", ())

    def open(self, row: int) -> int:
        counts = self.counts[row]
        return counts[_QTY] - counts[_CAN] - counts[_DLV]

    def order_payment(self) -> str:
        states = set(self.payment)
        return next((s for s in _PAYMENTS if s in states), "NotApplicable")


@cache
def _history(path: tuple[Status, ...], goods: tuple[bool, ...], quantities: tuple[int, ...],
             paid: str) -> _Order:  # fmt: skip
    """`with_history`: the order `placed`, then each generated status's row call and `settle`,
    once for each status path and rows. Not to be changed: shared."""
    order = _Order(goods, quantities, paid)
    _settle(order, 0)
    tracking = Status.SHIPPED in path  # the package: the order's tracking number
    rows = range(len(goods))
    for at, status in enumerate(path[1:], start=1):
        if status is Status.SHIPPING:
            first = order.counts[0]  # the first goods row: always the first article
            part = first[_QTY] if sum(goods) > 1 else first[_QTY] - 1
            if part > 0:
                _deliver(order, [(0, part)], tracking)
                _settle(order, at)
        elif status is Status.SHIPPED:
            _deliver(order, [(row, order.open(row)) for row in rows if order.open(row) > 0],
                     tracking)  # fmt: skip
            _settle(order, at)
        elif status is Status.DELIVERED:
            if order.order_payment() == "AwaitingPayment":
                order.payment = ["Paid" if p == "AwaitingPayment" else p for p in order.payment]
                _settle(order, at)
        elif status is Status.RETURNED:
            for counts in order.counts:
                counts[_RET] = counts[_DLV]  # every returnable quantity
            _settle(order, at)
        elif status in _CANCELS:
            for row in rows:
                order.counts[row][_CAN] += max(order.open(row), 0)
            _settle(order, at)
    payment = order.order_payment()
    open_goods = sum(g and order.open(row) > 0 for row, g in enumerate(goods))
    untouched = open_goods > 0 and all(counts[_DLV] == 0 for counts in order.counts)
    flags = (payment == "AwaitingPayment", open_goods > 0, untouched, open_goods > 1)
    order.outcome = (state_of(order.state), payment, tuple(int(f) for f in flags))
    return order


def _deliver(order: _Order, requests: list[tuple[int, int]], packed: bool) -> None:
    for row, quantity in requests:
        order.counts[row][_DLV] += quantity
        if packed:
            order.packed[row] = True


def _settle(order: _Order, at: int) -> None:
    """`sandbox_rows.settle`: the rows' states, an invoice when every row is done."""
    _settle_rows(order)
    if all(state in _DONE for state in order.state):
        _invoice(order, at)
        _settle_rows(order)
    order.modified = at


def _settle_rows(order: _Order) -> None:
    for row, counts in enumerate(order.counts):
        kept = counts[_QTY] - counts[_CAN] - counts[_RET]
        if order.payment[row] in _PAID:
            order.payment[row] = "Paid" if kept > 0 else "Refunded"
        else:
            order.payment[row] = "AwaitingPayment" if kept > 0 else "NotApplicable"
        order.state[row] = _row_state(counts)


def _row_state(counts: list[int]) -> str:
    """`sandbox_payload.row_state`."""
    active = counts[_QTY] - counts[_CAN]
    if active <= 0:
        return "Cancelled"
    if counts[_RET] >= active:
        return "Returned"
    if counts[_DLV] >= active:
        return "Invoiced" if counts[_INV] >= active else "Delivered"
    return "Pending"


def _invoice(order: _Order, at: int) -> None:
    """`sandbox_rows._invoice`, then `_credit` (the credit: the returned quantities less what
    the earlier invoices credited)."""
    billed = [(row, c[_DLV] - c[_INV]) for row, c in enumerate(order.counts) if c[_DLV] > c[_INV]]
    if billed:
        for row, _ in billed:
            order.counts[row][_INV] = order.counts[row][_DLV]
        order.invoices.append((at, billed, [0] * len(order.counts)))
    if order.invoices:
        credit = [c[_RET] for c in order.counts]
        for _, _, earlier in order.invoices[:-1]:
            credit = [c - e for c, e in zip(credit, earlier, strict=True)]
        order.invoices[-1][2][:] = credit


def _time(seconds: int) -> str:
    """`sandbox_payload.cdon_time` of an epoch second."""
    return f"{_day(seconds)}T{_clock(seconds)}.0000000"


def _stored(sample: Sample) -> tuple[Any, ...]:
    """One order's row values and JSON text (`to_payload`, then the store)."""
    number = sample.number
    rng = random.Random(f"cdon:{number}")
    later = sample.payment in _PAY_LATER
    # (product id, name, type, quantity, price, ordinary price) of each row
    rows = _articles(sample)
    if sample.shipping:
        rows.append(("POSTAGE", "Frakt", "Postage", 1, sample.shipping, sample.shipping))
    if later:
        rows.append(("FEE", "Fakturaavgift", "Fee", 1, _FEE, _FEE))
    # Every row's VAT rate is 25 % (Sweden's, and `placed`'s on postage and the fee).
    rate = '"25.0000"' if rng.random() < TEXT_VAT_SHARE else "25.00"
    customer = _customer(sample, rng)
    quantities = tuple(quantity for _, _, _, quantity, _, _ in rows)
    goods = tuple(kind != "Postage" for _, _, kind, *_ in rows)
    order = _history(sample.path, goods, quantities, "AwaitingPayment" if later else "Paid")
    prices = [price for *_, price, _ in rows]
    vats = [_half_even(price, 5) for price in prices]  # price * 25 / 125, to the cent
    times = sample.times
    total = sum(price * q for price, q in zip(prices, quantities, strict=True))
    vat = sum(v * q for v, q in zip(vats, quantities, strict=True))
    texts = _row_texts(order, rows, vats, rate, f'"TRK{number}"')
    invoices, numbers = _invoices(order, number, prices, vats, times)
    state, payment, flags = order.outcome
    modified = times[order.modified]
    text = (
        f'{{"OrderDetails":{{"OrderKey":"{MERCHANT_ID}-{number}","OrderId":{number},'
        f'"State":"{state}","PaymentStatus":"{payment}",'
        f'"CreatedDateUtc":"{_time(times[0])}","LastModifiedDateUtc":"{_time(modified)}",'
        f'"MerchantId":"{MERCHANT_ID}","CountryCode":"{COUNTRY}","CurrencyCode":"SEK",'
        f'"TotalAmount":{_money_text(total)},"TotalAmountExcludingVat":{_money_text(total - vat)},'
        f'"TotalSalesAmount":{_money_text(total)},"CustomerInfo":{customer},'
        f'"OrderRows":[{",".join(texts)}],"InvoiceNumbers":[{numbers}],'
        f'"TotalVat":{_money_text(vat)}}},"Invoices":[{invoices}]}}'
    )
    row = (number, modified * 1_000_000, COUNTRY, *flags)
    return (*row, text, None)


def _row_texts(order: _Order, rows: list[tuple[str, str, str, int, int, int]], vats: list[int],
               rate: str, package: str) -> list[str]:  # fmt: skip
    """Each row's JSON (`sandbox_orders._row_fields` as `settle` leaves it)."""
    texts = []
    for index, (product, name, kind, quantity, price, ordinary) in enumerate(rows):
        counts = order.counts[index]
        paid = order.payment[index] in _PAID
        texts.append(
            f'{{"OrderRowId":{index + 1},"FulfillmentStatus":"{order.state[index]}",'
            f'"PaymentStatus":"{order.payment[index]}","ProductId":"{product}",'
            f'"ProductName":"{name}","ProductType":"{kind}","Quantity":{quantity},'
            f'"DeliveredQuantity":{counts[_DLV]},"InvoicedQuantity":{counts[_INV]},'
            f'"CancelledQuantity":{counts[_CAN]},"ReturnedQuantity":{counts[_RET]},'
            f'"PickedQuantity":null,"PricePerUnit":{_money_text(price)},'
            f'"OrdinaryPricePerUnit":{_money_text(ordinary)},'
            f'"VatPerUnit":{_money_text(vats[index])},"VatPercentage":{rate},'
            f'"PackageId":{package if order.packed[index] else "null"},'
            f'"DebitedAmount":{_money_text(price * counts[_INV])},'
            f'"CreditedAmount":{_money_text(price * min(counts[_RET], counts[_INV]))},'
            f'"PaidAmount":{_money_text(price * quantity if paid else 0)},'
            f'"RefundedAmount":{_money_text(price * (counts[_CAN] + counts[_RET]) if paid else 0)},'
            '"AddonToProductId":null}'
        )
    return texts


def _articles(sample: Sample) -> list[tuple[str, str, str, int, int, int]]:
    """The article rows (`sandbox_orders._row`): the ordinary price is the price before the
    order's discount, through Decimal as the plain path rounds it."""
    discounted = bool(sample.discount) and sample.subtotal > sample.discount
    if discounted:
        subtotal = Decimal(sample.subtotal).scaleb(-2)
        net = subtotal - Decimal(sample.discount).scaleb(-2)
    rows = []
    for quantity, unit, sku, name, _ in sample.lines:
        ordinary = unit
        if discounted:
            exact = Decimal(unit).scaleb(-2) * subtotal / net
            ordinary = int(exact.quantize(_CENT).scaleb(2))
        rows.append((f"SKU-{sku:05d}", name, "Article", quantity, unit, ordinary))
    return rows


def _invoices(order: _Order, number: int, prices: list[int], vats: list[int],
              times: list[int]) -> tuple[str, str]:  # fmt: skip
    """The Invoices' JSON and the InvoiceNumbers' items."""
    texts = []
    numbers = []
    for n, (at, billed, credit) in enumerate(order.invoices, start=1):
        lines = ",".join(
            f'{{"InvoiceRowNumber":"{k}","OrderRowId":{row + 1},"Quantity":{quantity}}}'
            for k, (row, quantity) in enumerate(billed, start=1)
        )
        total = sum(prices[row] * quantity for row, quantity in billed)
        vat = sum(vats[row] * quantity for row, quantity in billed)
        credited = sum(price * q for price, q in zip(prices, credit, strict=True))
        texts.append(
            f'{{"InvoiceNumber":"{number}-{n}","BookingDateUtc":"{_time(times[at])}",'
            f'"TotalPaymentAmount":{_money_text(total)},'
            f'"TotalCreditNoteAmount":{_money_text(credited)},"TotalVat":{_money_text(vat)},'
            f'"InvoiceRows":[{lines}]}}'
        )
        numbers.append(f'"{number}-{n}"')
    return ",".join(texts), ",".join(numbers)


def _customer(sample: Sample, rng: random.Random) -> str:
    """`sandbox_orders._customer`'s JSON, with its draws."""
    co = f"c/o {rng.choice(_CARERS)}" if rng.random() < CO_SHARE else ""
    zip_code = str(sample.zip_code)
    shipping = _address(sample.name, sample.street, co, zip_code, sample.city)
    if rng.random() < OTHER_BILLING_SHARE:
        billing = _address(f"{rng.choice(_CARERS)} AB", "Box 1234", "", "10012", "Stockholm")
    else:
        billing = _address(sample.name, sample.street, "", zip_code, sample.city)
    email = sample.email if sample.email and rng.random() < EMAIL_SHARE else ""
    return (
        f'{{"CustomerId":{sample.customer_id},"EmailAddress":"{email}",'
        f'"ShippingAddress":{shipping},"BillingAddress":{billing},'
        f'"Phones":{_phones(sample.phone, rng.random())}}}'
    )


def _address(name: str, street: str, co: str, zip_code: str, city: str) -> str:
    return (
        f'{{"Name":"{name}","StreetAddress":"{street}","CoAddress":"{co}",'
        f'"ZipCode":"{zip_code}","City":"{city}","Country":"{_ACCOUNT.country}"}}'
    )


def _phones(phone: str, dice: float) -> str:
    """`sandbox_orders._phones`' JSON."""
    if dice < 0.7:
        return f'{{"PhoneMobile":"{phone}","PhoneWork":null,"PhoneHome":null}}'
    if dice < 0.82:
        return f'{{"PhoneMobile":null,"PhoneWork":"08-123 45 67","PhoneHome":"{phone}"}}'
    if dice < 0.95:
        return f'{{"PhoneMobile":"","PhoneWork":"{phone}","PhoneHome":null}}'
    return '{"PhoneMobile":null,"PhoneWork":null,"PhoneHome":null}'
