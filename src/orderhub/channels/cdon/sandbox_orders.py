"""The CDON sandbox's orders: generated canonical orders, placed as CDON orders and then taken
through their history with the sandbox's own row calls, so every order obeys CDON's rules.

Deterministic: the same seed gives the same orders.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from orderhub.channels.cdon.sandbox_payload import COUNTRY_NAMES, cdon_time
from orderhub.channels.cdon.sandbox_rows import (
    Payload,
    RowRequest,
    cancel,
    deliver,
    goods,
    open_requests,
    pay,
    return_rows,
    returnable,
    settle,
)
from orderhub.channels.sandbox_life import SampleOrders
from orderhub.domain import Order, Status
from orderhub.domain.order import Address, OrderLine

MERCHANT_ID = "3b1addb2-2b6f-49bc-a185-2b5cfb445d66"
#: Customers who pay by invoice (and COD) owe CDON until they pay; the others have paid.
_PAY_LATER = frozenset({"invoice", "cod"})
_CENT = Decimal("0.01")
_POSTAGE_VAT = Decimal(25)
_INVOICE_FEE = Decimal("29.00")
#: Shares of orders showing what most do not: the e-mail address (a "Hidden field" that
#: CDON shows to some merchants), a billing address of its own, a c/o line, a VatPercentage
#: written as a string (the seed's table says string, its example a number).
EMAIL_SHARE = 0.25
OTHER_BILLING_SHARE = 0.2
CO_SHARE = 0.1
TEXT_VAT_SHARE = 0.3


def to_payload(order: Order, seed: int) -> Payload:
    """The CDON order of a generated order (the seed plays no part: by name, so that a
    snapshot's worker processes can be sent it)."""
    return with_history(order)


#: The sandbox's orders: those of the sample account cdon-se (CountryCode Sweden, SEK), each
#: placed and taken through its generated history with the sandbox's own row calls.
ORDERS = SampleOrders("cdon-se", to_payload)
COUNTRY = COUNTRY_NAMES[ORDERS.account.country]


def initial_orders(count: int, seed: int, anchor: datetime | None = None) -> list[Payload]:
    """The sandbox's starting orders (placed in the year before `anchor` when given), each
    taken through its generated history."""
    return list(starting_orders(count, seed, anchor))


def starting_orders(count: int, seed: int, anchor: datetime | None = None) -> Iterator[Payload]:
    """`initial_orders` one at a time (the store keeps them as it gets them)."""
    return (with_history(order) for order in ORDERS.generated(count, seed, anchor=anchor))


def with_history(order: Order) -> Payload:
    payload = placed(order, order.created_at)
    for change in order.status_history[1:]:
        _replay(payload, change.status, order, change.at)
    return payload


def placed(order: Order, at: datetime) -> Payload:
    """The order as CDON shows it when the customer has just placed it: every row Pending."""
    rng = random.Random(f"cdon:{order.external_id}")
    later = order.payment_method in _PAY_LATER
    paid = "AwaitingPayment" if later else "Paid"
    rows = [_row(index, line, paid, order) for index, line in enumerate(order.lines, start=1)]
    if order.shipping_cost:
        rows.append(_postage(len(rows) + 1, order.shipping_cost, paid))
    if later:  # CDON's invoice fee: a Fee row
        rows.append(_row_fields(len(rows) + 1, "FEE", "Fakturaavgift", "Fee", 1, _INVOICE_FEE,
                                _INVOICE_FEE, _POSTAGE_VAT, paid))  # fmt: skip
    if rng.random() < TEXT_VAT_SHARE:
        for row in rows:
            row["VatPercentage"] = f"{row['VatPercentage']:.4f}"
    total = sum((Decimal(r["PricePerUnit"]) * r["Quantity"] for r in rows), Decimal(0))
    vat = sum((Decimal(r["VatPerUnit"]) * r["Quantity"] for r in rows), Decimal(0))
    details: dict[str, Any] = {
        "OrderKey": f"{MERCHANT_ID}-{order.external_id}",
        "OrderId": int(order.external_id),
        "State": "Pending",
        "PaymentStatus": paid,
        "CreatedDateUtc": cdon_time(at),
        "LastModifiedDateUtc": cdon_time(at),
        "MerchantId": MERCHANT_ID,
        "CountryCode": COUNTRY,
        "CurrencyCode": order.currency,
        "TotalAmount": total,
        "TotalAmountExcludingVat": total - vat,
        "TotalSalesAmount": total,
        "CustomerInfo": _customer(order, rng),
        "OrderRows": rows,
        "InvoiceNumbers": [],
        "TotalVat": vat,
    }
    payload = {"OrderDetails": details, "Invoices": []}
    settle(payload, at)
    return payload


def _replay(payload: Payload, status: Status, order: Order, at: datetime) -> None:
    """Bring the CDON order to a generated status with the calls a merchant would make."""
    rows = payload["OrderDetails"]["OrderRows"]
    if status is Status.SHIPPING:
        first = next(r for r in rows if goods(r))
        part = first["Quantity"] if sum(map(goods, rows)) > 1 else first["Quantity"] - 1
        if part > 0:
            deliver(payload, [RowRequest(first["OrderRowId"], part, order.tracking_number)], at)
    elif status is Status.SHIPPED:
        deliver(payload, open_requests(rows, order.tracking_number, _every_row), at)
    elif status is Status.DELIVERED:
        if payload["OrderDetails"]["PaymentStatus"] == "AwaitingPayment":
            pay(payload, at)
    elif status is Status.RETURNED:
        done = [RowRequest(r["OrderRowId"], returnable(r)) for r in rows if returnable(r) > 0]
        return_rows(payload, done, at)
    elif status in (Status.CANCELLED, Status.FAILED):
        cancel(payload, open_requests(rows, kinds=_every_row), at)
    # open, backordered, returning and lost leave no trace in CDON's order.


def _every_row(row: Payload) -> bool:
    return True


def _row(number: int, line: OrderLine, paid: str, order: Order) -> Payload:
    price = line.unit_price
    ordinary = price
    if order.discount and order.subtotal and order.subtotal > order.discount:
        ordinary = (price * order.subtotal / (order.subtotal - order.discount)).quantize(_CENT)
    return _row_fields(number, line.sku, line.name, "Article", line.quantity, price, ordinary,
                       line.tax_rate, paid)  # fmt: skip


def _postage(number: int, price: Decimal, paid: str) -> Payload:
    return _row_fields(number, "POSTAGE", "Frakt", "Postage", 1, price, price, _POSTAGE_VAT, paid)


def _row_fields(
    number: int,
    sku: str | None,
    name: str,
    product_type: str,
    quantity: int,
    price: Decimal,
    ordinary: Decimal,
    rate: Decimal,
    paid: str,
) -> Payload:
    vat = (price * rate / (100 + rate)).quantize(_CENT)
    return {
        "OrderRowId": number,
        "FulfillmentStatus": "Pending",
        "PaymentStatus": paid,
        "ProductId": sku,
        "ProductName": name,
        "ProductType": product_type,
        "Quantity": quantity,
        "DeliveredQuantity": 0,
        "InvoicedQuantity": 0,
        "CancelledQuantity": 0,
        "ReturnedQuantity": 0,
        "PickedQuantity": None,
        "PricePerUnit": price,
        "OrdinaryPricePerUnit": ordinary,
        "VatPerUnit": vat,
        "VatPercentage": rate,
        "PackageId": None,
        "DebitedAmount": Decimal(0),
        "CreditedAmount": Decimal(0),
        "PaidAmount": Decimal(0),
        "RefundedAmount": Decimal(0),
        "AddonToProductId": None,
    }


def _customer(order: Order, rng: random.Random) -> Payload:
    shipping = _address(order.shipping_address)
    if shipping is not None and rng.random() < CO_SHARE:
        shipping["CoAddress"] = f"c/o {rng.choice(_CARERS)}"
    billing = _address(order.billing_address)
    if billing is not None and rng.random() < OTHER_BILLING_SHARE:
        billing.update(Name=f"{rng.choice(_CARERS)} AB", StreetAddress="Box 1234", ZipCode="10012",
                       City="Stockholm")  # fmt: skip
    return {
        "CustomerId": order.customer_id,
        # CDON hides the address from most merchants (the seed's "Hidden field").
        "EmailAddress": order.email if order.email and rng.random() < EMAIL_SHARE else "",
        "ShippingAddress": shipping,
        "BillingAddress": billing,
        "Phones": _phones(order.phone, rng.random()),
    }


_CARERS = ("Lindqvist", "Berg", "Andersson")


def _phones(phone: str | None, dice: float) -> Payload:
    """Mostly a mobile number; some customers give only a home or a work number, a few none."""
    if dice < 0.7:
        return {"PhoneMobile": phone, "PhoneWork": None, "PhoneHome": None}
    if dice < 0.82:
        return {"PhoneMobile": None, "PhoneWork": "08-123 45 67", "PhoneHome": phone}
    if dice < 0.95:
        return {"PhoneMobile": "", "PhoneWork": phone, "PhoneHome": None}
    return {"PhoneMobile": None, "PhoneWork": None, "PhoneHome": None}


def _address(address: Address | None) -> Payload | None:
    if address is None:
        return None
    return {
        "Name": address.name or "",
        "StreetAddress": address.street or "",
        "CoAddress": address.street2 or "",
        "ZipCode": address.zip or "",
        "City": address.city or "",
        "Country": address.country or "",
    }
