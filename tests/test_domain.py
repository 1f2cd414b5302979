from decimal import Decimal

import pytest

from orderhub.domain import (
    MERCHANT_TRANSITIONS,
    Money,
    Status,
    TransitionRefused,
    check_transition,
)
from orderhub.domain.jsonfmt import dumps, money_text
from orderhub.domain.money import to_decimal


def test_money_adds_exactly_and_refuses_floats_and_mixed_currencies() -> None:
    total = Money(Decimal("0.10"), "EUR") + Money(Decimal("0.20"), "EUR")
    assert total == Money(Decimal("0.30"), "EUR")
    with pytest.raises(TypeError):
        Money(0.1, "EUR")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Money(Decimal(1), "EUR") + Money(Decimal(1), "CZK")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("677.95", Decimal("677.95")),
        (25.0, Decimal("25.0")),
        (1495, Decimal(1495)),
        (0.1, Decimal("0.1")),
    ],
)
def test_to_decimal_keeps_what_the_channel_wrote(raw: object, expected: Decimal) -> None:
    # str() as well: Decimal("25.0") == Decimal("25"), but only one of them is what was written.
    assert str(to_decimal(raw)) == str(expected)


@pytest.mark.parametrize("raw", ["abc", "NaN", "Infinity", True, None, [1]])
def test_to_decimal_refuses_non_amounts(raw: object) -> None:
    with pytest.raises(ValueError):
        to_decimal(raw)


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("1495", "1495.00"),
        ("1495.0000", "1495.00"),
        ("12.3450", "12.345"),
        ("0.1", "0.10"),
        ("-3.5", "-3.50"),
        ("0E-4", "0.00"),
        ("-0.0000", "-0.00"),
        ("100", "100.00"),
        ("0.0001", "0.0001"),
        ("1E+2", "100.00"),
        ("1.5E-7", "0.00000015"),
        ("1.2345E+3", "1234.50"),
    ],
)
def test_money_is_rendered_exactly_with_at_least_two_places(amount: str, text: str) -> None:
    assert money_text(Decimal(amount)) == text
    assert dumps({"total": Decimal(amount)}) == f'{{"total":{text}}}'.encode()


@pytest.mark.parametrize(
    ("current", "requested"),
    [
        (Status.OPEN, Status.SHIPPED),
        (Status.OPEN, Status.SHIPPING),
        (Status.OPEN, Status.CANCELLED),
        (Status.SHIPPING, Status.SHIPPED),
        (Status.SHIPPED, Status.DELIVERED),
        (Status.SHIPPED, Status.RETURNED),
    ],
)
def test_mall_documented_transitions_are_allowed(current: Status, requested: Status) -> None:
    check_transition(current, requested)


@pytest.mark.parametrize(
    ("current", "requested", "allowed"),
    [
        (Status.CANCELLED, Status.OPEN, []),
        (Status.DELIVERED, Status.SHIPPING, ["returned", "returning"]),
        (Status.SHIPPED, Status.OPEN, ["delivered", "lost", "returned", "returning"]),
        (
            Status.OPEN,
            Status.DELIVERED,
            ["backordered", "cancelled", "partially_shipped", "shipped", "shipping"],
        ),
        (Status.PENDING, Status.OPEN, ["cancelled"]),
    ],
)
def test_refused_transitions_list_the_allowed_next_statuses(
    current: Status, requested: Status, allowed: list[str]
) -> None:
    # The allowed lists are written out here (docs/writes-and-mail.md), not read from the table.
    with pytest.raises(TransitionRefused) as refused:
        check_transition(current, requested)
    assert refused.value.allowed == allowed
    assert refused.value.status_code == 409
    assert str(refused.value).endswith(f"allowed next: {', '.join(allowed) or 'none'}")


def test_every_status_has_a_row_in_the_transition_table() -> None:
    assert set(MERCHANT_TRANSITIONS) == set(Status)
