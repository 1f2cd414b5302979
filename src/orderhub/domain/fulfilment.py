"""Per-line fulfilment: shipments, cancellations and returns of an order's lines. Pure: no I/O.

A line's quantity splits into what is delivered (shipped), cancelled and still open; returns
come out of what was delivered. The order's status follows its goods lines (articles and
services): some shipped and some open is `partially_shipped`, nothing left open is `shipped`
(or `cancelled` when nothing was shipped, `returned` when all that shipped came back). Postage
and fee lines follow the goods: the action that leaves no goods open settles them too (CDON
refuses a delivery that leaves its Postage row behind).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from orderhub.domain.errors import InvalidInput
from orderhub.domain.order import LineType, Order, OrderLine
from orderhub.domain.status import Status

GOODS = frozenset({LineType.ARTICLE, LineType.SERVICE})
#: Statuses a fully shipped order keeps when a later action leaves it fully shipped.
_STILL_SHIPPED = frozenset({Status.SHIPPED, Status.DELIVERED, Status.RETURNING, Status.LOST})


class LineAction(StrEnum):
    SHIPMENT = "shipment"
    CANCELLATION = "cancellation"
    RETURN = "return"


@dataclass(frozen=True, slots=True)
class LineRequest:
    """One line as the merchant named it: by line id or by SKU, and how many."""

    quantity: int
    line_id: str | None = None
    sku: str | None = None


@dataclass(frozen=True, slots=True)
class LineQuantity:
    line_id: str
    quantity: int


def open_quantity(line: OrderLine) -> int:
    """What is neither shipped nor cancelled yet."""
    return line.quantity - line.delivered_quantity - line.cancelled_quantity


def returnable(line: OrderLine) -> int:
    return line.delivered_quantity - line.returned_quantity


#: Per action: how much of a line it may still take, and the words for it.
_AVAILABLE: dict[LineAction, tuple[Callable[[OrderLine], int], str]] = {
    LineAction.SHIPMENT: (open_quantity, "left to ship"),
    LineAction.CANCELLATION: (open_quantity, "left to cancel (neither shipped nor cancelled)"),
    LineAction.RETURN: (returnable, "shipped and not yet returned"),
}


def resolve(
    order: Order, action: LineAction, requests: Sequence[LineRequest] | None
) -> list[LineQuantity]:
    """The lines and quantities an action takes (None: all that remains), or InvalidInput
    naming the request's field (`lines[0].quantity` ...) and what it may be."""
    available, words = _AVAILABLE[action]
    if requests is None:
        chosen = [LineQuantity(line.line_id, available(line)) for line in order.lines
                  if line.type in GOODS and available(line) > 0]  # fmt: skip
        if not chosen:
            raise InvalidInput("all_remaining", f"an order with goods {words}; none are")
    else:
        chosen = [_checked(order, index, request, available, words)
                  for index, request in enumerate(requests)]  # fmt: skip
        _once_each(chosen)
    if action is not LineAction.RETURN:
        chosen += _followers(order, chosen)
    return chosen


def _checked(
    order: Order,
    index: int,
    request: LineRequest,
    available: Callable[[OrderLine], int],
    words: str,
) -> LineQuantity:
    line = _line_named(order, index, request)
    left = available(line)
    if left <= 0:
        raise InvalidInput(f"lines[{index}]", f"a line with something {words}; "
                           f"line {line.line_id} has none", line.line_id)  # fmt: skip
    if not 1 <= request.quantity <= left:
        raise InvalidInput(f"lines[{index}].quantity",
                           f"1 to {left} ({words} of line {line.line_id})",
                           request.quantity)  # fmt: skip
    return LineQuantity(line.line_id, request.quantity)


def _once_each(chosen: Sequence[LineQuantity]) -> None:
    seen: set[str] = set()
    for index, item in enumerate(chosen):
        if item.line_id in seen:
            raise InvalidInput(f"lines[{index}]", f"each line once; line {item.line_id} is "
                               "named twice", item.line_id)  # fmt: skip
        seen.add(item.line_id)


def _line_named(order: Order, index: int, request: LineRequest) -> OrderLine:
    value: str | None
    if request.line_id is not None:
        found = [line for line in order.lines if line.line_id == request.line_id]
        field, value = f"lines[{index}].line_id", request.line_id
    else:
        found = [line for line in order.lines if line.sku == request.sku]
        field, value = f"lines[{index}].sku", request.sku
    if len(found) == 1:
        return found[0]
    ids = ", ".join(line.line_id for line in order.lines) or "none"
    if found:
        raise InvalidInput(field, "a SKU of exactly one line (name it by line_id: "
                           f"{', '.join(line.line_id for line in found)})", value)  # fmt: skip
    raise InvalidInput(field, f"a line of order {order.id} (line ids: {ids})", value)


def _followers(order: Order, chosen: list[LineQuantity]) -> list[LineQuantity]:
    """Postage and fee lines still open, when the chosen quantities leave no goods open."""
    taken = _totals(chosen)
    goods_left = any(
        open_quantity(line) - taken.get(line.line_id, 0) > 0
        for line in order.lines
        if line.type in GOODS
    )
    if goods_left:
        return []
    return [LineQuantity(line.line_id, open_quantity(line)) for line in order.lines
            if line.type not in GOODS and line.line_id not in taken
            and open_quantity(line) > 0]  # fmt: skip


def _totals(quantities: Sequence[LineQuantity]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for item in quantities:
        totals[item.line_id] = totals.get(item.line_id, 0) + item.quantity
    return totals


def applied(order: Order, action: LineAction, quantities: Sequence[LineQuantity]) -> Order:
    """The order with the action's quantities added to its lines and the status they say."""
    totals = _totals(quantities)
    field = {
        LineAction.SHIPMENT: "delivered_quantity",
        LineAction.CANCELLATION: "cancelled_quantity",
        LineAction.RETURN: "returned_quantity",
    }[action]
    lines = [
        replace(line, **{field: getattr(line, field) + totals[line.line_id]})
        if line.line_id in totals else line
        for line in order.lines
    ]  # fmt: skip
    return replace(order, lines=lines, status=status_from_lines(order.status, lines))


def status_from_lines(current: Status, lines: Sequence[OrderLine]) -> Status:
    """The status an order's goods lines say, `current` where they say nothing new."""
    goods = [line for line in lines if line.type in GOODS] or list(lines)
    left = sum(open_quantity(line) for line in goods)
    shipped = sum(line.delivered_quantity for line in goods)
    kept = sum(returnable(line) for line in goods)
    if not goods or (shipped == 0 and left > 0):
        return current
    if shipped == 0:
        return Status.CANCELLED
    if left > 0:
        return Status.PARTIALLY_SHIPPED
    if kept == 0:
        return Status.RETURNED
    return current if current in _STILL_SHIPPED else Status.SHIPPED


def merged_quantities(stored: Sequence[OrderLine], reported: list[OrderLine]) -> list[OrderLine]:
    """The reported lines, each quantity at least the hub's (matched by line id): for channels
    that do not report per-line fulfilment, or while the hub's own is still being pushed."""
    ours = {line.line_id: line for line in stored}
    merged = []
    for line in reported:
        mine = ours.get(line.line_id)
        if mine is not None:
            line = replace(
                line,
                delivered_quantity=max(line.delivered_quantity, mine.delivered_quantity),
                cancelled_quantity=max(line.cancelled_quantity, mine.cancelled_quantity),
                returned_quantity=max(line.returned_quantity, mine.returned_quantity),
            )
        merged.append(line)
    return merged


__all__ = [
    "GOODS",
    "LineAction",
    "LineQuantity",
    "LineRequest",
    "applied",
    "merged_quantities",
    "open_quantity",
    "resolve",
    "returnable",
    "status_from_lines",
]
