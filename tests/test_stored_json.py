"""The stored JSON of an order's nested parts (`order_row`) is what `jsonfmt.dumps` writes,
byte for byte, now that orjson writes UTC datetimes itself and two-place amounts skip the trim.
The oracles are the old paths, kept here."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderhub.channels.mall.codec import decode_order
from orderhub.channels.mall.sandbox_state import MallSandbox
from orderhub.channels.sandbox_kit import FaultSpec
from orderhub.domain import Order, Status, StatusChange, StatusSource
from orderhub.domain.codec import NESTED_FIELDS
from orderhub.domain.jsonfmt import dumps, money_text
from orderhub.domain.samples import generate_orders
from orderhub.store.order_rows import order_row

_CENTS = Decimal("0.01")


def _old_money_text(amount: Decimal) -> str:
    text = str(amount)
    if "E" not in text:
        whole, _, places = text.partition(".")
        return f"{whole}.{places.rstrip('0'):0<2}"
    normal = amount.normalize()
    exponent = normal.as_tuple().exponent
    if amount.as_tuple().exponent == -2:
        return str(amount)
    if isinstance(exponent, int) and exponent >= -2:
        return str(amount.quantize(_CENTS))
    return format(normal, "f")


def _old_default(value: object) -> object:
    if isinstance(value, Decimal):
        return orjson.Fragment(_old_money_text(value))
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().removesuffix("+00:00") + "Z"
    if isinstance(value, type(datetime.now().date())):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _old_nested(order: Order) -> dict[str, str | None]:
    """order_row's nested columns as they were written before: every part through the hook."""
    return {
        name: None
        if (value := getattr(order, name)) is None
        else orjson.dumps(
            value, default=_old_default, option=orjson.OPT_PASSTHROUGH_DATETIME
        ).decode()
        for name in NESTED_FIELDS
    }


def _assert_stored_as_before(order: Order) -> None:
    row = order_row(order)
    assert {name: row[name] for name in NESTED_FIELDS} == _old_nested(order)


@pytest.mark.parametrize(
    "amount",
    ["0", "-0", "-0.00", "0.5", "12.50", "12.345", "1E+2", "1.5E+3", "1E-7", "-3.10",
     "100", "99999999999999.99", "0.001", "1.00E+2", "NaN", "-Infinity", "7.000",
     "1398.0", "-0.5", "21", "-7", "0.0", "1.5E+3", "sNaN"],
)  # fmt: skip
def test_money_text_is_what_it_was(amount: str) -> None:
    assert money_text(Decimal(amount)) == _old_money_text(Decimal(amount))


@given(st.decimals(allow_nan=False, allow_infinity=False, places=None))
def test_money_text_is_what_it_was_for_any_amount(value: Decimal) -> None:
    assert money_text(value) == _old_money_text(value)


def test_generated_orders_of_every_channel_are_stored_as_before() -> None:
    for order in generate_orders(300, seed=3):
        _assert_stored_as_before(order)


def test_decoded_mall_orders_are_stored_as_before() -> None:
    sandbox = MallSandbox(200, 5, FaultSpec.parse(None))
    payloads = orjson.loads(dumps(sandbox.orders_json()))  # as the hub reads them off the wire
    for payload in payloads:
        _assert_stored_as_before(decode_order(payload, channel="mall-cz"))


_ZONES = [UTC, ZoneInfo("UTC"), ZoneInfo("Europe/Prague"), timezone(timedelta(hours=-5)), None]


@given(
    st.lists(
        st.tuples(
            st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
            st.sampled_from(_ZONES),
        ),
        max_size=4,
    ),
    st.lists(st.decimals(allow_nan=False, allow_infinity=False), min_size=4, max_size=4),
)
def test_any_times_and_amounts_are_stored_as_before(
    times: list[tuple[datetime, object]], amounts: list[Decimal]
) -> None:
    base = next(generate_orders(1, seed=9))
    history = [
        StatusChange(Status.OPEN, moment.replace(tzinfo=zone), StatusSource.CHANNEL)  # type: ignore[arg-type]
        for moment, zone in times
        if zone is not None or moment.year > 1970  # a naive time is read in the local zone
    ]
    line = dataclasses.replace(
        base.lines[0],
        unit_price=amounts[0],
        tax_rate=amounts[1],
        tax_amount=amounts[2],
        total=amounts[3],
    )
    extra = {"at": history[0].at if history else None, "fee": amounts[0], "n": [1.5, "x"]}
    _assert_stored_as_before(
        dataclasses.replace(base, status_history=history, lines=[line], extra=extra)
    )


@pytest.mark.parametrize("amount", [5, 1.5, -0.0, None, True, Decimal("-0"), Decimal("1E+3")])
def test_lines_whose_amounts_are_not_plain_decimals_are_stored_as_before(amount: object) -> None:
    base = next(generate_orders(1, seed=4))
    line = dataclasses.replace(base.lines[0], unit_price=amount, tax_amount=amount)  # type: ignore[arg-type]
    _assert_stored_as_before(dataclasses.replace(base, lines=[line, *base.lines]))
