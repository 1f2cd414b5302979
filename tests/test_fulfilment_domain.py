"""The per-line rules (domain/fulfilment.py) and how a channel's report merges with the hub's
lines (domain/ownership.py), pure: hand-written orders, hand-written expectations."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from helpers import make_order
from orderhub.domain import ChannelType, InvalidInput, LineType, Order, OrderLine, Status
from orderhub.domain.fulfilment import LineAction, LineRequest, applied, resolve, status_from_lines
from orderhub.domain.ownership import merge


def line(line_id: str, quantity: int, delivered: int = 0, cancelled: int = 0, returned: int = 0,
         kind: LineType = LineType.ARTICLE) -> OrderLine:  # fmt: skip
    return OrderLine(line_id, f"SKU-{line_id}", line_id, kind, quantity, Decimal("5.00"),
                     Decimal(0), Decimal(0), Decimal("5.00") * quantity, delivered, cancelled,
                     returned)  # fmt: skip


@pytest.mark.parametrize(
    ("current", "lines", "expected"),
    [
        (Status.OPEN, [line("a", 2), line("b", 1)], Status.OPEN),
        (Status.OPEN, [line("a", 2, delivered=1), line("b", 1)], Status.PARTIALLY_SHIPPED),
        (Status.OPEN, [line("a", 2, delivered=2), line("b", 1, cancelled=1)], Status.SHIPPED),
        (Status.OPEN, [line("a", 2, cancelled=2), line("b", 1, cancelled=1)], Status.CANCELLED),
        (Status.OPEN, [line("a", 2, cancelled=1), line("b", 1)], Status.OPEN),
        (Status.SHIPPED, [line("a", 2, delivered=2, returned=2)], Status.RETURNED),
        (Status.DELIVERED, [line("a", 2, delivered=2, returned=1)], Status.DELIVERED),
        # postage does not count: the goods are all shipped
        (Status.OPEN, [line("a", 1, delivered=1), line("p", 1, kind=LineType.POSTAGE)],
         Status.SHIPPED),
    ],
)  # fmt: skip
def test_the_status_the_lines_say(
    current: Status, lines: list[OrderLine], expected: Status
) -> None:
    assert status_from_lines(current, lines) is expected


def test_the_last_goods_take_the_postage_with_them() -> None:
    order = make_order("1", lines=[line("a", 2, delivered=1), line("p", 1, kind=LineType.POSTAGE)])
    taken = resolve(order, LineAction.SHIPMENT, [LineRequest(1, line_id="a")])
    assert [(t.line_id, t.quantity) for t in taken] == [("a", 1), ("p", 1)]
    after = applied(order, LineAction.SHIPMENT, taken)
    assert [(ln.line_id, ln.delivered_quantity) for ln in after.lines] == [("a", 2), ("p", 1)]


def test_a_line_named_twice_is_refused() -> None:
    order = make_order("1", lines=[line("a", 4)])
    with pytest.raises(InvalidInput) as refused:
        resolve(
            order, LineAction.SHIPMENT, [LineRequest(1, line_id="a"), LineRequest(1, sku="SKU-a")]
        )
    assert refused.value.parameter == "lines[1]"


def _stored_and_reported(channel_type: ChannelType) -> tuple[Order, Order]:
    stored = make_order("1", channel_type=channel_type, status=Status.PARTIALLY_SHIPPED,
                        lines=[line("a", 2, delivered=1), line("b", 1)])  # fmt: skip
    reported = replace(stored, status=Status.OPEN, lines=[line("a", 2), line("b", 1)],
                       updated_at=stored.updated_at + timedelta(hours=1))  # fmt: skip
    return stored, reported


def test_a_channel_without_line_fulfilment_keeps_the_hubs_lines_and_partial_status() -> None:
    stored, reported = _stored_and_reported(ChannelType.MALL)
    merged = merge(stored, reported)
    assert merged.status is Status.PARTIALLY_SHIPPED
    assert [ln.delivered_quantity for ln in merged.lines] == [1, 0]
    # The channel's own later news still applies: it cancelled the order.
    cancelled = replace(reported, status=Status.CANCELLED)
    assert merge(stored, cancelled).status is Status.CANCELLED


def test_cdons_rows_are_the_truth_once_the_push_landed() -> None:
    stored, reported = _stored_and_reported(ChannelType.CDON)
    merged = merge(stored, reported)
    assert merged.status is Status.OPEN
    assert [ln.delivered_quantity for ln in merged.lines] == [0, 0]
    pending = replace(stored, push_status="pending")
    while_pending = merge(pending, reported)
    assert [ln.delivered_quantity for ln in while_pending.lines] == [1, 0]
