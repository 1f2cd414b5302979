"""Print views: `/orders/{id}/packing-slip` (one order's slip: its number and channel, the
shipping address, the lines left to pick, its barcode) and `/orders/pick-list?id=1&id=2` (a
selection's lines summed per SKU, then each order's slip). No navigation; A4 (static/print.css)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from orderhub.domain import InvalidInput, Order
from orderhub.services.orders import get_order
from orderhub.services.picking import MAX_PICK, pick_lines, pick_orders, pick_totals
from orderhub.web.barcode import code128_svg
from orderhub.web.order_view import order_id
from orderhub.web.session import WebUser, signed_in
from orderhub.web.templating import page

router = APIRouter(include_in_schema=False)


def slip(order: Order) -> dict[str, Any]:
    """What one slip shows."""
    return {"o": order, "lines": pick_lines(order), "barcode": code128_svg(str(order.id))}


@router.get("/orders/pick-list", response_class=HTMLResponse)
def pick_list(request: Request, user: WebUser = signed_in) -> HTMLResponse:
    raw = request.query_params.getlist("id")
    try:
        ids = _ids(raw)
    except InvalidInput as exc:
        return page(request, "pick_list.html", status=400, title="Pick list", problem=str(exc))
    orders, missing = pick_orders(request.app.state.engine, ids)
    if missing:
        names = ", ".join(str(number) for number in missing)
        problem = f"No order {names}: check the numbers, or start again from the orders list."
        return page(request, "pick_list.html", status=404, title="Pick list", problem=problem)
    return page(
        request,
        "pick_list.html",
        title=f"Pick list of {len(orders)} orders",
        totals=pick_totals(orders),
        slips=[slip(order) for order in orders],
    )


def _ids(raw: list[str]) -> list[int]:
    if not raw:
        raise InvalidInput("id", "the orders to pick, e.g. /orders/pick-list?id=1&id=2")
    if len(raw) > MAX_PICK:
        raise InvalidInput("id", f"at most {MAX_PICK} orders in one pick list", len(raw))
    bad = [text for text in raw if not (text.isascii() and text.isdigit() and len(text) <= 18)]
    if bad:
        raise InvalidInput("id", "order numbers (whole numbers)", bad[0][:40])
    return [int(text) for text in raw]


@router.get("/orders/{raw_id}/packing-slip", response_class=HTMLResponse)
def packing_slip(raw_id: str, request: Request, user: WebUser = signed_in) -> HTMLResponse:
    number = order_id(raw_id)
    order = get_order(request.app.state.engine, number).to_order()
    return page(request, "packing_slip.html", title=f"Packing slip {number}", **slip(order))
