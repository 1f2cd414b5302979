"""CDON codec: one element of `GET api/order/` <-> the canonical order."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from oracles import fixtures
from oracles.order_view import differences
from orderhub.channels.cdon.codec import (
    decode_order,
    encode_order,
    format_time,
    order_state_from_rows,
    parse_time,
)
from orderhub.domain.order import Address, LineType, Order, OrderLine
from orderhub.domain.status import ChannelType, PaymentStatus, Status

# tests/channels/golden/cdon_order.json: the seed's response example, copied literally (its
# odd indentation and `invoices` casing too).
SEED_JSON = fixtures.text("cdon_order.json")

SEED_TIME = "2014-02-07T19:22:48.5942457"
AT = datetime(2014, 2, 7, 19, 22, 48, 594245, tzinfo=UTC)


def seed() -> dict[str, Any]:
    """The seed as the CDON client parses it: numbers exact (parse_float=Decimal)."""
    result: dict[str, Any] = json.loads(SEED_JSON, parse_float=Decimal)
    return result


def decoded() -> Order:
    return decode_order(seed(), channel="cdon-se")


def pick(value: Any, path: str) -> Any:
    """Follow a dotted path through attributes, dict keys and list indexes."""
    for part in path.split("."):
        if isinstance(value, list):
            value = value[int(part)]
        elif isinstance(value, dict):
            value = value[part]
        else:
            value = getattr(value, part)
    return value


def row(row_id: int, **fields: Any) -> dict[str, Any]:
    """An OrderRow like the seed's, with some fields changed."""
    base = seed()["OrderDetails"]["OrderRows"][0]
    return {**base, "OrderRowId": row_id, **fields}


def with_rows(*rows: dict[str, Any], **details: Any) -> dict[str, Any]:
    data = seed()
    data["OrderDetails"].update(OrderRows=list(rows), **details)
    return data


SEED_ADDRESS = Address(
    name="Testperson", street="Stårgatan 1xa", street2=None, zip="12345", city="Ankeborg",
    country="SE",
)  # fmt: skip


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("channel", "cdon-se"),
        ("channel_type", ChannelType.CDON),
        ("external_id", "42277358"),
        ("status", Status.SHIPPED),
        ("channel_status", "Invoiced"),
        ("payment_status", PaymentStatus.UNPAID),
        ("confirmed", False),
        ("test", False),
        ("created_at", AT),
        ("updated_at", AT),
        ("currency", "SEK"),
        ("country", "SE"),
        ("customer_id", 62880501),
        ("customer", "Testperson"),
        ("email", None),
        ("phone", "0703013319"),
        ("tracking_number", "test"),
        ("payment_method", None),
        ("shipping_address", SEED_ADDRESS),
        ("billing_address", SEED_ADDRESS),
        ("lines.0", OrderLine(
            line_id="1", sku="ART000494", name="Star wars", type=LineType.ARTICLE, quantity=1,
            unit_price=Decimal("1495.0"), tax_rate=Decimal("25"), tax_amount=Decimal("299"),
            total=Decimal("1495"), delivered_quantity=1, cancelled_quantity=0,
            returned_quantity=0,
        )),
        ("extra.OrderKey", "c6840daf-6163-45ef-adce-7f5e8d8f2afe-42277358"),
        ("extra.MerchantId", "3b1addb2-2b6f-49bc-a185-2b5cfb445d66"),
        ("extra.CountryCode", "Sweden"),
        ("extra.TotalAmountExcludingVat", "1196.0"),
        ("extra.TotalSalesAmount", "1495.0"),
        ("extra.InvoiceNumbers", []),
        ("extra.invoices", []),
        ("extra.CustomerInfo.Phones",
         {"PhoneMobile": "0703013319", "PhoneWork": None, "PhoneHome": None}),
        ("extra.lines.1.FulfillmentStatus", "Invoiced"),
        ("extra.lines.1.PaymentStatus", "AwaitingPayment"),
        ("extra.lines.1.InvoicedQuantity", 1),
        ("extra.lines.1.PickedQuantity", None),
        ("extra.lines.1.OrdinaryPricePerUnit", "1495.0"),
        ("extra.lines.1.PackageId", "test"),
        ("extra.lines.1.DebitedAmount", "1495.0"),
        ("extra.lines.1.CreditedAmount", "0.0"),
        ("extra.lines.1.PaidAmount", "0.0"),
        ("extra.lines.1.RefundedAmount", "0.0"),
        ("extra.lines.1.AddonToProductId", None),
    ],
)  # fmt: skip
def test_decodes_seed_field(path: str, expected: object) -> None:
    assert pick(decoded(), path) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("total", "1495.0"),
        ("tax_total", "299.0"),
        ("subtotal", "1495.0"),
        ("shipping_cost", "0"),
        ("discount", "0"),
        ("lines.0.unit_price", "1495.0"),
        ("lines.0.tax_amount", "299.0"),
        ("lines.0.tax_rate", "25.0000"),
        ("lines.0.total", "1495.0"),
    ],
)
def test_money_is_exact_decimal(path: str, expected: str) -> None:
    value = pick(decoded(), path)
    assert type(value) is Decimal
    assert value == Decimal(expected)


def test_amounts_over_several_rows_are_exact() -> None:
    data = with_rows(
        row(1, Quantity=3, PricePerUnit=0.1, VatPerUnit=0.02, OrdinaryPricePerUnit=0.15),
        row(2, ProductType="Service", Quantity=1, PricePerUnit=0.2, VatPerUnit=0.04),
        row(3, ProductType="Postage", Quantity=1, PricePerUnit=49.0, VatPerUnit=9.8),
        row(4, ProductType="Fee", Quantity=1, PricePerUnit=19.9, VatPerUnit=3.98),
    )
    for other in data["OrderDetails"]["OrderRows"][1:]:
        other["OrdinaryPricePerUnit"] = None
    # Plain floats, as a careless client would parse: 0.1 * 3 must still be exactly 0.3.
    order = decode_order(json.loads(json.dumps(data, default=float)), channel="c")
    assert order.subtotal == Decimal("0.5")
    assert order.shipping_cost == Decimal("49.0")
    assert order.discount == Decimal("0.15")
    assert order.lines[0].tax_amount == Decimal("0.06")
    assert [line.total for line in order.lines] == [
        Decimal("0.3"),
        Decimal("0.2"),
        Decimal("49.0"),
        Decimal("19.9"),
    ]


@pytest.mark.parametrize(
    ("product_type", "expected", "kept"),
    [
        ("Article", LineType.ARTICLE, None),
        ("Service", LineType.SERVICE, None),
        ("Postage", LineType.POSTAGE, None),
        ("Fee", LineType.FEE, None),
        ("Compensation", LineType.FEE, "Compensation"),
        (4, LineType.FEE, "Compensation"),
        (2, LineType.POSTAGE, None),
    ],
)
def test_product_type(product_type: object, expected: LineType, kept: str | None) -> None:
    order = decode_order(with_rows(row(1, ProductType=product_type)), channel="c")
    assert order.lines[0].type is expected
    assert order.extra["lines"]["1"].get("ProductType") == kept
    name = (
        product_type
        if isinstance(product_type, str)
        else ("Postage", "Compensation")[product_type == 4]
    )
    assert encode_order(order)["OrderDetails"]["OrderRows"][0]["ProductType"] == name


@pytest.mark.parametrize(
    ("state", "rows", "expected"),
    [
        ("Pending", [row(1, FulfillmentStatus="Pending", DeliveredQuantity=0)], Status.OPEN),
        ("Pending", [], Status.OPEN),
        (
            "Pending",
            [
                row(1, FulfillmentStatus="Delivered"),
                row(2, FulfillmentStatus="Pending", DeliveredQuantity=0),
            ],
            Status.PARTIALLY_SHIPPED,
        ),
        (
            "Pending",
            [row(1, FulfillmentStatus="Pending", Quantity=2, DeliveredQuantity=1)],
            Status.PARTIALLY_SHIPPED,
        ),
        ("Delivered", [row(1, FulfillmentStatus="Delivered")], Status.SHIPPED),
        ("Invoiced", [row(1)], Status.SHIPPED),
        ("Returned", [row(1, FulfillmentStatus="Returned", ReturnedQuantity=1)], Status.RETURNED),
        (
            "Cancelled",
            [row(1, FulfillmentStatus="Cancelled", CancelledQuantity=1)],
            Status.CANCELLED,
        ),
        (0, [row(1, FulfillmentStatus=0, DeliveredQuantity=0)], Status.OPEN),
        (4, [row(1)], Status.SHIPPED),
        ("invoiced", [row(1)], Status.SHIPPED),
    ],
)
def test_state_mapping(state: object, rows: list[dict[str, Any]], expected: Status) -> None:
    order = decode_order(with_rows(*rows, State=state), channel="c")
    assert order.status is expected
    assert order.channel_status in ("Pending", "Delivered", "Cancelled", "Returned", "Invoiced")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("NotApplicable", PaymentStatus.NOT_APPLICABLE),
        ("AwaitingPayment", PaymentStatus.UNPAID),
        ("Paid", PaymentStatus.PAID),
        ("AwaitingRefund", PaymentStatus.REFUND_PENDING),
        ("Refunded", PaymentStatus.REFUNDED),
        (2, PaymentStatus.PAID),
        ("3", PaymentStatus.REFUND_PENDING),
    ],
)
def test_payment_status(value: object, expected: PaymentStatus) -> None:
    data = seed()
    data["OrderDetails"]["PaymentStatus"] = value
    order = decode_order(data, channel="c")
    assert order.payment_status is expected
    assert decode_order(encode_order(order), channel="c").payment_status is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (SEED_TIME, AT),
        ("2014-02-07T19:22:48.594245", AT),
        ("2014-02-07T19:22:48.59424579999", AT),
        ("2014-02-07T19:22:48.5", datetime(2014, 2, 7, 19, 22, 48, 500000, tzinfo=UTC)),
        ("2014-02-07T19:22:48", datetime(2014, 2, 7, 19, 22, 48, tzinfo=UTC)),
        ("2014-02-07 19:22", datetime(2014, 2, 7, 19, 22, tzinfo=UTC)),
        ("2014-02-07", datetime(2014, 2, 7, tzinfo=UTC)),
        ("2014-02-07T19:22:48.5942457Z", AT),
        ("2014-02-07T20:22:48.5942457+01:00", AT),
        ("2014-02-07T14:22:48.5942457-0500", AT),
    ],
)
def test_times_are_zoned_utc(value: str, expected: datetime) -> None:
    parsed = parse_time(value)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize("value", ["07/02/2014", "2014-02-07T19", "", None, 1391800968])
def test_bad_times_are_refused(value: object) -> None:
    with pytest.raises(ValueError, match="expected a date-time"):
        parse_time(value)


def test_format_time_is_cdon_form_and_reads_back() -> None:
    assert format_time(AT) == "2014-02-07T19:22:48.5942450"
    assert parse_time(format_time(AT)) == AT


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Sweden", "SE"),
        ("Denmark", "DK"),
        ("Norway", "NO"),
        ("Finland", "FI"),
        ("finland", "FI"),
        ("NO", "NO"),
        ("Atlantis", "SE"),  # unknown name: the shipping address's country
    ],
)
def test_country(name: str, expected: str) -> None:
    data = seed()
    data["OrderDetails"]["CountryCode"] = name
    order = decode_order(data, channel="c")
    assert order.country == expected
    assert order.extra["CountryCode"] == name
    assert encode_order(order)["OrderDetails"]["CountryCode"] == name


@pytest.mark.parametrize("key", ["invoices", "Invoices"])
def test_invoices_in_either_casing(key: str) -> None:
    invoice = {"InvoiceNumber": "F-1", "TotalPaymentAmount": Decimal("1495.0")}
    data = {"OrderDetails": seed()["OrderDetails"], key: [invoice]}
    order = decode_order(data, channel="c")
    assert order.extra[key] == [invoice]
    encoded = encode_order(order)
    assert set(encoded) == {"OrderDetails", key}
    assert encoded[key] == [invoice]


def test_missing_invoices_encode_as_an_empty_list() -> None:
    order = decode_order({"OrderDetails": seed()["OrderDetails"]}, channel="c")
    assert encode_order(order)["Invoices"] == []


@pytest.mark.parametrize(
    ("phones", "expected"),
    [
        ({"PhoneMobile": None, "PhoneWork": "08-123", "PhoneHome": "08-456"}, "08-456"),
        ({"PhoneMobile": "", "PhoneWork": "08-123", "PhoneHome": None}, "08-123"),
        (None, None),
    ],
)
def test_phone(phones: dict[str, Any] | None, expected: str | None) -> None:
    data = seed()
    data["OrderDetails"]["CustomerInfo"]["Phones"] = phones
    assert decode_order(data, channel="c").phone == expected


@pytest.mark.parametrize(
    ("shown", "expected"), [("kund@example.se", "kund@example.se"), ("", None)]
)
def test_email_when_cdon_shows_it(shown: str, expected: str | None) -> None:
    """The seed's "Hidden field" is `""`; a merchant CDON shows it to gets the address."""
    data = seed()
    data["OrderDetails"]["CustomerInfo"]["EmailAddress"] = shown
    assert decode_order(data, channel="c").email == expected


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("OrderId", None, "OrderId"),
        ("State", "Lost", "State"),
        ("PaymentStatus", "Maybe", "PaymentStatus"),
        ("CreatedDateUtc", "yesterday", "date-time"),
        ("TotalAmount", "lots", "lots"),
        ("CurrencyCode", None, "CurrencyCode"),
    ],
)
def test_bad_input_names_the_field(path: str, value: object, message: str) -> None:
    data = seed()
    data["OrderDetails"][path] = value
    with pytest.raises(ValueError, match=message):
        decode_order(data, channel="c")


def test_missing_order_details_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="OrderDetails"):
        decode_order({"Invoices": []}, channel="c")


# ---------------------------------------------------------------- order State from rows


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ([], "Pending"),
        (["Pending"], "Pending"),
        (["Pending", "Pending"], "Pending"),
        (["Delivered", "Pending"], "Pending"),
        (["Invoiced", "Pending"], "Pending"),
        (["Delivered"], "Delivered"),
        (["Delivered", "Invoiced"], "Delivered"),
        (["Invoiced", "Invoiced"], "Invoiced"),
        (["Cancelled"], "Cancelled"),
        (["Cancelled", "Cancelled"], "Cancelled"),
        (["Cancelled", "Pending"], "Pending"),
        (["Cancelled", "Delivered"], "Delivered"),
        (["Cancelled", "Invoiced"], "Invoiced"),
        (["Returned"], "Returned"),
        (["Returned", "Cancelled"], "Returned"),
        (["Returned", "Invoiced"], "Invoiced"),
        (["Returned", "Delivered"], "Delivered"),
        (["Returned", "Pending"], "Pending"),
        ([4, 1], "Delivered"),
    ],
)
def test_order_state_from_rows(states: list[object], expected: str) -> None:
    rows = [{"OrderRowId": i, "FulfillmentStatus": s} for i, s in enumerate(states)]
    assert order_state_from_rows(rows) == expected


@pytest.mark.parametrize(
    ("quantities", "expected"),
    [
        ({"Quantity": 2}, "Pending"),
        ({"Quantity": 2, "DeliveredQuantity": 1}, "Pending"),
        ({"Quantity": 2, "DeliveredQuantity": 2}, "Delivered"),
        ({"Quantity": 2, "DeliveredQuantity": 2, "InvoicedQuantity": 2}, "Invoiced"),
        ({"Quantity": 2, "CancelledQuantity": 1, "DeliveredQuantity": 1}, "Delivered"),
        ({"Quantity": 2, "CancelledQuantity": 2}, "Cancelled"),
        ({"Quantity": 2, "DeliveredQuantity": 2, "ReturnedQuantity": 2}, "Returned"),
        ({"Quantity": 2, "DeliveredQuantity": 2, "ReturnedQuantity": 1}, "Delivered"),
    ],
)
def test_rows_without_a_status_are_judged_by_their_quantities(
    quantities: dict[str, int], expected: str
) -> None:
    assert order_state_from_rows([{"OrderRowId": 1, **quantities}]) == expected


# ---------------------------------------------------------------- round trips


def test_encode_rebuilds_the_seed() -> None:
    expected = seed()
    details = expected["OrderDetails"]
    details["CreatedDateUtc"] = details["LastModifiedDateUtc"] = "2014-02-07T19:22:48.5942450"
    assert encode_order(decoded()) == expected


def test_decode_encode_round_trip() -> None:
    order = decoded()
    assert decode_order(encode_order(order), channel="cdon-se") == order


def _made_order(status: Status, delivered: int, cancelled: int, returned: int) -> Order:
    """An order made in the hub (no extra), as the sandbox would make one."""
    at = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
    address = Address(name="Sven Svensson", street="Storgatan 1", street2="c/o Berg",
                      zip="11122", city="Stockholm", country="SE")  # fmt: skip
    article = OrderLine(
        line_id="1", sku="ART-1", name="Lego", type=LineType.ARTICLE, quantity=2,
        unit_price=Decimal("199.00"), tax_rate=Decimal("25"), tax_amount=Decimal("79.60"),
        total=Decimal("398.00"), delivered_quantity=delivered, cancelled_quantity=cancelled,
        returned_quantity=returned,
    )  # fmt: skip
    postage = dataclasses.replace(
        article, line_id="2", sku="POST", name="Frakt", type=LineType.POSTAGE, quantity=1,
        unit_price=Decimal("49.00"), tax_amount=Decimal("9.80"), total=Decimal("49.00"),
        delivered_quantity=min(delivered, 1), cancelled_quantity=min(cancelled, 1),
        returned_quantity=min(returned, 1),
    )  # fmt: skip
    return Order(
        channel="c", channel_type=ChannelType.CDON, external_id="1001", status=status,
        channel_status="", payment_status=PaymentStatus.PAID, created_at=at, updated_at=at,
        currency="SEK", total=Decimal("447.00"), customer_id=7, customer="Sven Svensson",
        phone="070-1234567", country="SE", subtotal=Decimal("398.00"),
        shipping_cost=Decimal("49.00"), discount=Decimal(0), tax_total=Decimal("89.40"),
        tracking_number="PKG-1" if delivered else None, shipping_address=address,
        billing_address=address, lines=[article, postage],
    )  # fmt: skip


@pytest.mark.parametrize(
    ("status", "delivered", "cancelled", "returned", "state"),
    [
        (Status.OPEN, 0, 0, 0, "Pending"),
        (Status.PARTIALLY_SHIPPED, 1, 0, 0, "Pending"),
        (Status.SHIPPED, 2, 0, 0, "Delivered"),
        (Status.RETURNED, 2, 0, 2, "Returned"),
        (Status.CANCELLED, 0, 2, 0, "Cancelled"),
    ],
)
def test_round_trip_of_an_order_made_in_the_hub(
    status: Status, delivered: int, cancelled: int, returned: int, state: str
) -> None:
    order = _made_order(status, delivered, cancelled, returned)
    encoded = encode_order(order)
    assert encoded["OrderDetails"]["State"] == state
    again = decode_order(encoded, channel="c")
    assert dataclasses.replace(again, extra={}, channel_status="") == order
    assert again.channel_status == state


@pytest.mark.parametrize(
    "status", [Status.PENDING, Status.BACKORDERED, Status.DELIVERED, Status.LOST, Status.FAILED]
)
def test_encode_refuses_a_status_cdon_cannot_express(status: Status) -> None:
    with pytest.raises(ValueError, match="CDON has no State"):
        encode_order(_made_order(status, 0, 0, 0))


def test_encode_follows_a_status_change_made_in_the_hub() -> None:
    order = decoded()
    assert encode_order(order)["OrderDetails"]["State"] == "Invoiced"
    order.status = Status.CANCELLED
    order.lines[0].cancelled_quantity = 1
    details = encode_order(order)["OrderDetails"]
    assert details["State"] == "Cancelled"
    assert details["OrderRows"][0]["FulfillmentStatus"] == "Cancelled"
    assert decode_order(encode_order(order), channel="c").status is Status.CANCELLED


def test_encode_keeps_vat_per_unit_exact() -> None:
    order = _made_order(Status.OPEN, 0, 0, 0)
    rows = encode_order(order)["OrderDetails"]["OrderRows"]
    assert [r["VatPerUnit"] for r in rows] == [Decimal("39.80"), Decimal("9.80")]
    assert rows[1]["ProductType"] == "Postage"


# --- golden fixture (tests/channels/golden) -------------------------------------------------


@pytest.mark.parametrize("parse_float", [float, Decimal], ids=["plain-json", "exact-json"])
def test_golden_seed_decodes_to_the_hand_written_order(parse_float: Any) -> None:
    """As the client reads it (plain JSON: floats) and as an exact reader would (Decimal)."""
    payload = json.loads(fixtures.text("cdon_order.json"), parse_float=parse_float)
    order = decode_order(payload, channel="cdon-se")
    assert differences(order, fixtures.expectation("cdon_order.expected.json")) == []
