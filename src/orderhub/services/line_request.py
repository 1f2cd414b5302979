"""The bodies of POST /v1/orders/{id}/shipments, /cancellations and /returns, parsed into a
typed request; every mistake is a 400 naming the field (`lines[1].quantity` ...) and what was
expected, before anything is read or written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orderhub.domain import InvalidInput
from orderhub.domain.fulfilment import LineAction, LineRequest
from orderhub.services.update_request import FIELD_PARSERS, parse_flag, shown, text_value
from orderhub.store.fulfilment import MAX_REASON

#: The most lines one request names, and the largest quantity of one line.
MAX_LINES = 500
MAX_QUANTITY = 1_000_000
MAX_LINE_ID = 128
_TRACKING = ("carrier", "tracking_number", "tracking_url")
_LINE_FIELDS = ("line_id", "sku", "quantity")


@dataclass(frozen=True, slots=True)
class LineActionRequest:
    action: LineAction
    #: None: all that remains.
    lines: tuple[LineRequest, ...] | None
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    reason: str | None = None
    #: E-mail the customer when the action changes the order's status (the web form's
    #: checkbox; the PUT's notify_user).
    notify_user: bool = False


def accepted(action: LineAction) -> tuple[str, ...]:
    extra = _TRACKING if action is LineAction.SHIPMENT else ("reason",)
    return ("lines", "all_remaining", *extra, "notify_user")


def parse_line_action(action: LineAction, body: object) -> LineActionRequest:
    """A decoded JSON body -> LineActionRequest, or InvalidInput naming the first bad field."""
    names = accepted(action)
    if not isinstance(body, dict):
        raise InvalidInput("body", f"a JSON object with: {', '.join(names)}", shown(body))
    for name in body:
        if name not in names:
            raise InvalidInput(name, f"no such field; a {action} takes: {', '.join(names)}")
    lines = _lines_or_all(body)
    notify = parse_flag("notify_user", body["notify_user"]) if "notify_user" in body else False
    if action is LineAction.SHIPMENT:
        values = {name: FIELD_PARSERS[name](name, body.get(name)) for name in _TRACKING}
        return LineActionRequest(action, lines, **values, notify_user=notify)
    if "reason" not in body:
        raise InvalidInput("reason", f"why the {action} is made: 1 to {MAX_REASON} characters")
    reason = text_value("reason", body["reason"], MAX_REASON, f"why the {action} is made")
    if reason is None:
        raise InvalidInput("reason", f"why the {action} is made: 1 to {MAX_REASON} characters")
    return LineActionRequest(action, lines, reason=reason, notify_user=notify)


def _lines_or_all(body: dict[str, Any]) -> tuple[LineRequest, ...] | None:
    everything = body.get("all_remaining", False)
    if not isinstance(everything, bool):
        raise InvalidInput("all_remaining", "true or false", shown(everything))
    if everything and "lines" in body:
        raise InvalidInput("lines", 'either lines or "all_remaining": true, not both')
    if everything:
        return None
    if "lines" not in body:
        raise InvalidInput("lines", 'the lines and quantities, or "all_remaining": true')
    raw = body["lines"]
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_LINES:
        expected = f"an array of 1 to {MAX_LINES} objects {{line_id or sku, quantity}}"
        raise InvalidInput("lines", expected, shown(raw))
    return tuple(_line(f"lines[{index}]", item) for index, item in enumerate(raw))


def _line(where: str, item: object) -> LineRequest:
    if not isinstance(item, dict):
        raise InvalidInput(where, "an object {line_id or sku, quantity}", shown(item))
    for name in item:
        if name not in _LINE_FIELDS:
            raise InvalidInput(f"{where}.{name}", "no such field; a line takes line_id or sku, "
                               "and quantity")  # fmt: skip
    if ("line_id" in item) == ("sku" in item):
        raise InvalidInput(where, "exactly one of line_id and sku")
    name = "line_id" if "line_id" in item else "sku"
    key = _key(f"{where}.{name}", item[name])
    if "quantity" not in item:
        raise InvalidInput(f"{where}.quantity", f"a whole number from 1 to {MAX_QUANTITY}")
    quantity = _quantity(f"{where}.quantity", item["quantity"])
    return LineRequest(quantity, **{name: key})


def _key(name: str, value: object) -> str:
    """A line id or SKU: a string (a whole number is read as its digits)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63:
        return str(value)
    if isinstance(value, str) and value and len(value) <= MAX_LINE_ID:
        return value
    raise InvalidInput(name, f"a string of 1 to {MAX_LINE_ID} characters", shown(value))


def _quantity(name: str, value: object) -> int:
    """A whole number; 2.0 is 2 (JSON does not tell them apart)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_QUANTITY:
        return value
    raise InvalidInput(name, f"a whole number from 1 to {MAX_QUANTITY}", shown(value))
