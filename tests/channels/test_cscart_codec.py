"""The CS-Cart codec against the order details of seed 002, both directions."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oracles import cscart as cscart_oracle
from oracles import differences, golden, raw_fixture
from orderhub.channels.cscart.codec import (
    PAYMENT_BY_LETTER,
    STATUS_BY_LETTER,
    decode_order,
    encode_order,
    status_letter_for,
)
from orderhub.domain import Address, LineType, PaymentStatus, Status, StatusSource
from orderhub.domain.money import to_decimal

# Seed 002 lists the order detail fields but shows no example body. The golden fixture
# cscart_seed_order.json is one with every listed field, string-valued as the real API sends them
# ("order_id": "97", "total": "677.95", "timestamp": "1456917981", design section 4); `products`
# and `taxes` in CS-Cart's own shape. Its canonical order is written by hand next to it.
SEED_ORDER: dict[str, Any] = raw_fixture("cscart_seed_order.json")

# The same order with numbers where the seed's table says integer/float.
NUMERIC_ORDER: dict[str, Any] = {
    **SEED_ORDER,
    "order_id": 97,
    "timestamp": 1456917981,
    "user_id": 3,
    "total": 677.95,
    "subtotal": 659.97,
    "shipping_cost": 17.98,
    "tax_subtotal": 105.38,
    "discount": 0,
}

PLACED = datetime(2016, 3, 2, 11, 26, 21, tzinfo=UTC)


# --- the golden fixture: every field of seed 002 and its canonical order, written by hand ------


def test_golden_fixture_decodes_to_the_hand_written_order() -> None:
    raw, _, expected = golden("cscart_seed_order")
    order = decode_order(raw, channel="shop-de")
    assert differences(order, expected) == []
    assert order.extra == expected["extra"]


def test_golden_fixture_accounts_for_every_field_of_seed_002() -> None:
    raw, fields, expected = golden("cscart_seed_order")
    assert set(raw) == set(fields) | (set(expected["extra"]) - {"products_extra"})
    assert {target for targets in fields.values() for target in targets} <= set(expected)


def test_the_sync_oracle_agrees_with_the_hand_written_order() -> None:
    raw, _, expected = golden("cscart_seed_order")
    predicted = cscart_oracle.expected(raw, "shop-de")
    assert predicted == {key: expected[key] for key in predicted}


@pytest.mark.parametrize("payload", [SEED_ORDER, NUMERIC_ORDER], ids=["strings", "numbers"])
@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("channel", "shop-de"),
        ("channel_type", "cscart"),
        ("external_id", "97"),
        ("status", Status.OPEN),
        ("channel_status", "P"),
        ("payment_status", PaymentStatus.PAID),
        ("confirmed", False),
        ("test", False),
        ("created_at", PLACED),
        ("updated_at", PLACED),
        ("customer_id", 3),
        ("customer", "John Doe"),
        ("email", "john.doe@example.com"),
        ("phone", "+49 30 1234567"),
        ("language", "de"),
        ("country", "DE"),
        ("currency", "EUR"),
        ("total", Decimal("677.95")),
        ("subtotal", Decimal("659.97")),
        ("shipping_cost", Decimal("17.98")),
        ("discount", Decimal("0.00")),
        ("tax_total", Decimal("105.38")),
        ("payment_method", "Vorkasse"),
        ("vendor_ref", None),
        ("cod", None),
        ("ship_date", None),
    ],
)
def test_seed_order_decodes_field_by_field(
    payload: dict[str, Any], field: str, expected: object
) -> None:
    order = decode_order(payload, channel="shop-de")
    assert getattr(order, field) == expected


def test_money_is_exact_decimal() -> None:
    order = decode_order(SEED_ORDER, channel="shop-de")
    assert isinstance(order.total, Decimal)
    assert str(order.total) == "677.95"
    assert order.total == order.subtotal + order.shipping_cost  # type: ignore[operator]


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        (
            "shipping_address",
            Address(
                name="John Doe",
                street="Hauptstr. 1",
                city="Berlin",
                zip="10115",
                region="BE",
                country="DE",
                phone="+49 30 1234567",
            ),
        ),
        (
            "billing_address",
            Address(
                name="Jane Doe",
                street="Friedrichstr. 100",
                street2="3. OG",
                city="Hamburg",
                zip="20095",
                region="HH",
                country="DE",
            ),
        ),
    ],
)
def test_addresses_from_s_and_b_fields(prefix: str, expected: Address) -> None:
    assert getattr(decode_order(SEED_ORDER, channel="shop-de"), prefix) == expected


def test_an_address_with_every_field_empty_is_none() -> None:
    empty = {key: "" for key in SEED_ORDER if key.startswith("b_")}
    assert decode_order({**SEED_ORDER, **empty}, channel="shop-de").billing_address is None


@pytest.mark.parametrize(
    ("index", "field", "expected"),
    [
        (0, "line_id", "2948303400"),
        (0, "sku", "U0012O5AF0"),
        (0, "name", "Apple iPod Classic 160GB"),
        (0, "type", LineType.ARTICLE),
        (0, "quantity", 2),
        (0, "unit_price", Decimal("299.99")),
        (0, "total", Decimal("599.98")),
        (0, "tax_rate", Decimal("19")),
        (0, "tax_amount", Decimal("95.80")),
        (1, "line_id", "1706554615"),
        (1, "sku", "F01262AH2E"),
        (1, "quantity", 1),
        (1, "total", Decimal("59.99")),  # no subtotal sent: price x amount
        (1, "tax_amount", Decimal("9.58")),  # no tax_value sent: 19 % included in 59.99
    ],
)
def test_products_decode_to_lines(index: int, field: str, expected: object) -> None:
    line = decode_order(SEED_ORDER, channel="shop-de").lines[index]
    assert getattr(line, field) == expected


def test_tax_added_on_top_when_prices_exclude_it() -> None:
    payload = copy.deepcopy(SEED_ORDER)
    payload["taxes"]["6"]["price_includes_tax"] = "N"
    line = decode_order(payload, channel="shop-de").lines[1]
    assert line.tax_amount == Decimal("11.40")  # 19 % of 59.99


def test_products_without_taxes_have_rate_zero() -> None:
    payload = {key: value for key, value in SEED_ORDER.items() if key != "taxes"}
    lines = decode_order(payload, channel="shop-de").lines
    assert [(line.tax_rate, line.tax_amount) for line in lines] == [
        (Decimal(0), Decimal("95.80")),
        (Decimal(0), Decimal("0.00")),
    ]


@pytest.mark.parametrize("empty", [[], {}, None])
def test_no_products(empty: object) -> None:
    payload = {**SEED_ORDER, "products": empty}
    del payload["tax_subtotal"]
    order = decode_order(payload, channel="shop-de")
    assert (order.lines, order.tax_total) == ([], None)


def test_fields_without_a_canonical_place_stay_verbatim_in_extra() -> None:
    extra = decode_order(SEED_ORDER, channel="shop-de").extra
    for key in ("company_id", "issuer_id", "payment_info", "payment_method", "repaid", "taxes"):
        assert extra[key] == SEED_ORDER[key], key
    for key in ("notes", "s_country_descr", "b_state_descr", "subtotal_discount", "shipping"):
        assert extra[key] == SEED_ORDER[key], key
    assert extra["products_extra"] == {
        "2948303400": {"order_id": "97", "product_id": "12"},
        "1706554615": {"order_id": "97", "product_id": "247"},
    }
    assert not {"order_id", "total", "s_city", "firstname", "products"} & set(extra)


def test_history_is_the_current_status_at_the_last_update() -> None:
    payload = {**SEED_ORDER, "status": "C", "updated_at": "1457004381"}
    order = decode_order(payload, channel="shop-de")
    assert order.updated_at == datetime(2016, 3, 3, 11, 26, 21, tzinfo=UTC)
    assert [(c.status, c.at, c.source) for c in order.status_history] == [
        (Status.SHIPPED, order.updated_at, StatusSource.CHANNEL)
    ]


@pytest.mark.parametrize(
    ("letter", "status", "payment"),
    [
        ("N", Status.PENDING, PaymentStatus.UNPAID),
        ("O", Status.PENDING, PaymentStatus.UNPAID),
        ("E", Status.PENDING, PaymentStatus.UNPAID),
        ("P", Status.OPEN, PaymentStatus.PAID),
        ("B", Status.BACKORDERED, PaymentStatus.UNPAID),
        ("C", Status.SHIPPED, PaymentStatus.PAID),
        ("G", Status.RETURNING, PaymentStatus.REFUND_PENDING),
        ("H", Status.RETURNED, PaymentStatus.REFUNDED),
        ("D", Status.CANCELLED, PaymentStatus.UNPAID),
        ("I", Status.CANCELLED, PaymentStatus.UNPAID),
        ("F", Status.FAILED, PaymentStatus.UNPAID),
    ],
)
def test_status_letters(letter: str, status: Status, payment: PaymentStatus) -> None:
    order = decode_order({**SEED_ORDER, "status": letter}, channel="shop-de")
    assert (order.status, order.channel_status, order.payment_status) == (status, letter, payment)
    assert encode_order(order)["status"] == letter


def test_every_letter_has_a_payment_status() -> None:
    assert set(PAYMENT_BY_LETTER) == set(STATUS_BY_LETTER)


@pytest.mark.parametrize(
    ("status", "letter"),
    [
        (Status.OPEN, "P"),
        (Status.SHIPPED, "C"),
        (Status.CANCELLED, "D"),
        (Status.RETURNED, "H"),
        (Status.RETURNING, "G"),
        (Status.BACKORDERED, "B"),
        (Status.FAILED, "F"),
    ],
)
def test_status_letter_for_push_back(status: Status, letter: str) -> None:
    assert status_letter_for(status) == letter


@pytest.mark.parametrize("status", [Status.PENDING, Status.SHIPPING, Status.DELIVERED, Status.LOST])
def test_status_letter_for_refuses_what_cs_cart_cannot_be_set_to(status: Status) -> None:
    with pytest.raises(ValueError, match=f"cannot be set to {status}"):
        status_letter_for(status)


@pytest.mark.parametrize(("user_id", "expected"), [("0", None), (0, None), ("42", 42)])
def test_guest_orders_have_no_customer_id(user_id: object, expected: int | None) -> None:
    order = decode_order({**SEED_ORDER, "user_id": user_id}, channel="shop-de")
    assert order.customer_id == expected


def test_vendor_ref_and_currency() -> None:
    payload = {**SEED_ORDER, "vendor_ref": "ABC1234", "currency": "CHF"}
    order = decode_order(payload, channel="shop-ch")
    assert (order.vendor_ref, order.currency) == ("ABC1234", "CHF")
    assert decode_order(SEED_ORDER, channel="shop-ch", currency="CHF").currency == "CHF"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"status": "X"}, "status"),
        ({"status": "p"}, "status"),
        ({"order_id": "97a"}, "order_id"),
        ({"order_id": None}, "order_id"),
        ({"timestamp": None}, "timestamp"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"total": "677,95"}, "total"),
        ({"total": None}, "total"),
        ({"user_id": True}, "user_id"),
        ({"products": "none"}, "products"),
        ({"products": {"1": {"product": "x", "price": "1.00"}}}, "products.1"),
        ({"products": {"1": {"amount": "1.5", "price": "1.00"}}}, "products.1.amount"),
    ],
)
def test_bad_input_is_refused_naming_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"field '{field}'")):
        decode_order({**SEED_ORDER, **change}, channel="shop-de")


def test_decode_does_not_modify_the_payload() -> None:
    payload = copy.deepcopy(SEED_ORDER)
    decode_order(payload, channel="shop-de")
    assert payload == SEED_ORDER


# --- encoding and round trips -----------------------------------------------------------------


def test_encode_gives_back_every_field_of_the_seed_order() -> None:
    encoded = encode_order(decode_order(SEED_ORDER, channel="shop-de"))
    assert covers(encoded, SEED_ORDER)
    assert encoded["products"]["1706554615"]["tax_value"] == "9.58"
    assert (encoded["currency"], encoded["updated_at"]) == ("EUR", "1456917981")


def test_encode_writes_strings_like_the_api() -> None:
    encoded = encode_order(decode_order(NUMERIC_ORDER, channel="shop-de"))
    assert (encoded["order_id"], encoded["total"], encoded["timestamp"]) == (
        "97",
        "677.95",
        "1456917981",
    )
    assert (encoded["user_id"], encoded["products"]["2948303400"]["amount"]) == ("3", "2")


@pytest.mark.parametrize("payload", [SEED_ORDER, NUMERIC_ORDER], ids=["strings", "numbers"])
def test_decode_of_encode_round_trips(payload: dict[str, Any]) -> None:
    order = decode_order(payload, channel="shop-de")
    assert decode_order(encode_order(order), channel="shop-de") == order


@pytest.mark.parametrize(
    ("status", "letter"),
    [
        (Status.PENDING, "O"),
        (Status.SHIPPING, "P"),
        (Status.DELIVERED, "C"),
        (Status.LOST, "C"),
        (Status.CANCELLED, "D"),
    ],
)
def test_encode_uses_the_nearest_letter_when_the_old_one_no_longer_fits(
    status: Status, letter: str
) -> None:
    order = decode_order(SEED_ORDER, channel="shop-de")
    order.status = status
    assert encode_order(order)["status"] == letter


def test_encode_keeps_the_letter_that_still_fits() -> None:
    order = decode_order({**SEED_ORDER, "status": "I"}, channel="shop-de")
    assert encode_order(order)["status"] == "I"


def test_encode_splits_names_and_writes_a_changed_payment_method() -> None:
    order = decode_order(SEED_ORDER, channel="shop-de")
    order.customer = "Anna Maria Schmidt"
    order.payment_method = "PayPal"
    order.vendor_ref = "ABC1234"
    encoded = encode_order(order)
    assert (encoded["firstname"], encoded["lastname"]) == ("Anna", "Maria Schmidt")
    assert encoded["payment_method"] == {**SEED_ORDER["payment_method"], "payment": "PayPal"}
    assert encoded["vendor_ref"] == "ABC1234"
    again = decode_order(encoded, channel="shop-de")
    assert (again.customer, again.payment_method, again.vendor_ref) == (
        "Anna Maria Schmidt",
        "PayPal",
        "ABC1234",
    )


def test_encode_builds_taxes_from_line_rates_when_extra_has_none() -> None:
    order = decode_order(SEED_ORDER, channel="shop-de")
    del order.extra["taxes"]
    encoded = encode_order(order)
    assert Decimal(encoded["taxes"]["1"]["rate_value"]) == 19
    assert encoded["taxes"]["1"]["tax_subtotal"] == "105.38"
    again = decode_order(encoded, channel="shop-de")
    assert [line.tax_rate for line in again.lines] == [Decimal(19), Decimal(19)]


def normal(value: Any) -> Any:
    """Values compared as the codec means them: numbers and numeric strings as Decimals."""
    if isinstance(value, dict):
        return {key: normal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normal(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    try:
        return to_decimal(value)
    except ValueError:
        return None if value == "" else value


def covers(encoded: Any, original: Any) -> bool:
    """Every field of `original` is in `encoded` with the same meaning (extra fields allowed)."""
    if original == [] and encoded == {}:  # PHP's empty array: no products
        return True
    if isinstance(original, dict):
        return isinstance(encoded, dict) and all(
            covers(encoded.get(key), value) for key, value in original.items()
        )
    return bool(normal(encoded) == normal(original))


# --- property: any CS-Cart-shaped payload round-trips -------------------------------------------

words = st.text(alphabet="abcdefghijklmnopqrstuvwxyzäöüß -", max_size=12)
money = st.decimals(min_value=0, max_value=100_000, places=2).map(str)
product = st.fixed_dictionaries(
    {"product": words, "price": money, "amount": st.integers(1, 9).map(str)},
    optional={
        "product_code": words,
        "product_id": st.integers(1, 10**6).map(str),
        "subtotal": money,
        "tax_value": money,
    },
)
products = st.dictionaries(st.integers(1, 10**10).map(str), product, max_size=4)


def _with_taxes(payload: dict[str, Any], rate: str | None, included: str) -> dict[str, Any]:
    if rate is not None:
        applies = {"items": {"P": dict.fromkeys(payload.get("products") or {}, True)}}
        payload["taxes"] = {
            "1": {
                "rate_type": "P",
                "rate_value": rate,
                "price_includes_tax": included,
                "applies": applies,
            }
        }
    return payload


address_fields = {
    prefix + key: words
    for prefix in ("s_", "b_")
    for key in ("firstname", "lastname", "address", "address_2", "city", "zipcode", "state")
}
payloads = st.builds(
    _with_taxes,
    st.fixed_dictionaries(
        {
            "order_id": st.integers(1, 10**9).map(str),
            "status": st.sampled_from(list(STATUS_BY_LETTER)),
            "timestamp": st.integers(0, 2**31).map(str),
            "user_id": st.just("0") | st.integers(1, 10**6).map(str),
            "firstname": words,
            "lastname": words,
            "email": words,
            "total": money,
            "products": st.just([]) | products,
            **address_fields,
            "s_country": st.sampled_from(["", "DE", "AT"]),
            "b_country": st.sampled_from(["", "DE", "CH"]),
        },
        optional={
            "updated_at": st.integers(0, 2**31).map(str),
            "lang_code": st.sampled_from(["", "de", "en"]),
            "subtotal": money,
            "discount": money,
            "shipping_cost": money,
            "tax_subtotal": money,
            "payment_method": st.fixed_dictionaries({"payment_id": st.just("2"), "payment": words}),
            "vendor_ref": words,
            "company_id": st.just("1"),
            "notes": words,
        },
    ),
    st.none() | st.sampled_from(["7", "19.000", "20.5"]),
    st.sampled_from(["Y", "N"]),
)


@settings(max_examples=200, deadline=None)
@given(payloads)
def test_property_decode_encode_decode_is_stable(payload: dict[str, Any]) -> None:
    order = decode_order(payload, channel="shop-x")
    assert decode_order(encode_order(order), channel="shop-x") == order


@settings(max_examples=200, deadline=None)
@given(payloads)
def test_property_encode_gives_back_every_field_but_the_names(payload: dict[str, Any]) -> None:
    encoded = encode_order(decode_order(payload, channel="shop-x"))
    names = {"firstname", "lastname", "s_firstname", "s_lastname", "b_firstname", "b_lastname"}
    assert covers(encoded, {key: value for key, value in payload.items() if key not in names})


def test_country_falls_back_to_the_billing_country() -> None:
    order = decode_order({**SEED_ORDER, "s_country": "", "b_country": "AT"}, channel="shop-de")
    assert (order.country, order.shipping_address and order.shipping_address.country) == (
        "AT",
        None,
    )
