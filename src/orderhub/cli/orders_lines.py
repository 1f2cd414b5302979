"""`orderhub orders ship | cancel-lines | return-lines`: a shipment, cancellation or return of
single lines, as POST /v1/orders/{id}/shipments (/cancellations, /returns) makes it."""

from __future__ import annotations

import typer

from orderhub.api.orders import parse_id
from orderhub.cli.common import console, migrated_engine
from orderhub.cli.orders import app, cli_actor
from orderhub.domain import InvalidInput
from orderhub.domain.fulfilment import LineAction
from orderhub.services.line_actions import LineActionResult, record_line_action
from orderhub.services.line_request import parse_line_action

_LINE_HELP = "LINE_ID:QUANTITY (repeatable); sku=SKU:QUANTITY names the line by its SKU."
_ALL_HELP = "Everything that remains of every goods line, instead of --line."


def _lines(items: list[str]) -> list[dict[str, object]]:
    """`A1:2` or `sku=MUG:2` -> the API's line objects (the service checks the rest)."""
    lines: list[dict[str, object]] = []
    for index, item in enumerate(items):
        key, sep, quantity = item.rpartition(":")
        if not sep or not key or not quantity.isdigit():
            raise InvalidInput(f"--line[{index}]", "LINE_ID:QUANTITY or sku=SKU:QUANTITY", item)
        name, value = ("sku", key[4:]) if key.startswith("sku=") else ("line_id", key)
        lines.append({name: value, "quantity": int(quantity)})
    return lines


def _body(lines: list[str], everything: bool, **fields: str | None) -> dict[str, object]:
    body: dict[str, object] = {k: v for k, v in fields.items() if v is not None}
    if everything:
        body["all_remaining"] = True
    if lines or not everything:
        body["lines"] = _lines(lines)
    return body


def _made(number: int, action: LineAction, body: dict[str, object]) -> None:
    request = parse_line_action(action, body)
    result = record_line_action(migrated_engine(), number, request, cli_actor())
    _print(number, result)


def _print(number: int, result: LineActionResult) -> None:
    record = result.record
    taken = ", ".join(f"{line['line_id']} x{line['quantity']}" for line in record.lines)
    console.print(f"order {number}: {record.action} {record.id} ({taken})", markup=False)
    order = result.order.to_order()
    console.print(f"order {number} is now {order.status} at version {result.order.version}; "
                  f"push: {record.push_status or 'nothing to push'}", markup=False)  # fmt: skip


@app.command("ship")
def ship_command(
    order_id: str = typer.Argument(..., metavar="ORDER_ID", help="The order's id."),
    lines: list[str] = typer.Option([], "--line", help=_LINE_HELP),
    everything: bool = typer.Option(False, "--all-remaining", help=_ALL_HELP),
    carrier: str | None = typer.Option(None, "--carrier"),
    tracking_number: str | None = typer.Option(None, "--tracking-number"),
    tracking_url: str | None = typer.Option(None, "--tracking-url"),
) -> None:
    """Ship single lines (POST /v1/orders/ID/shipments): partially_shipped until all are."""
    body = _body(lines, everything, carrier=carrier, tracking_number=tracking_number,
                 tracking_url=tracking_url)  # fmt: skip
    _made(_number(order_id), LineAction.SHIPMENT, body)


def _with_reason(action: LineAction, name: str, summary: str) -> None:
    """`orders cancel-lines` / `orders return-lines`: lines (or all) and a reason."""

    def command(
        order_id: str = typer.Argument(..., metavar="ORDER_ID", help="The order's id."),
        lines: list[str] = typer.Option([], "--line", help=_LINE_HELP),
        everything: bool = typer.Option(False, "--all-remaining", help=_ALL_HELP),
        reason: str = typer.Option(..., "--reason", help=f"Why (kept with the {action})."),
    ) -> None:
        _made(_number(order_id), action, _body(lines, everything, reason=reason))

    command.__doc__ = summary
    app.command(name)(command)


_with_reason(
    LineAction.CANCELLATION,
    "cancel-lines",
    "Cancel single lines (POST /v1/orders/ID/cancellations).",
)
_with_reason(
    LineAction.RETURN,
    "return-lines",
    "Record returned quantities of shipped lines (POST /v1/orders/ID/returns).",
)


def _number(raw: str) -> int:
    return parse_id("ORDER_ID", raw)
