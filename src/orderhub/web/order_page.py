"""The order page, `/orders/{id}`: the order, its history as a timeline, its push-back, e-mails
and webhook deliveries, and (staff only) the forms of web/order_actions.py."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from orderhub.services.order_detail import order_detail
from orderhub.web import order_actions
from orderhub.web.order_view import order_id, render
from orderhub.web.session import WebUser, signed_in

router = APIRouter(include_in_schema=False)
router.include_router(order_actions.router)


@router.get("/orders/{raw_id}", response_class=HTMLResponse)
def order_page(raw_id: str, request: Request, user: WebUser = signed_in) -> HTMLResponse:
    return render(request, order_detail(request.app.state.engine, order_id(raw_id)))
