"""The CS-Cart sandbox: the shop's order API (seed 002, design section 4) at `/api`, served
locally with generated orders, order life and injectable faults.

`create_app(...)` returns the ASGI app; `app.state.sandbox` is its `CsCartSandbox`. Every `/api`
request needs HTTP Basic auth (`admin@example.com`, API key `sandbox`). Control endpoints for
tests and the demo live under `/_sandbox/` (not CS-Cart's): never faulted, counted or
authenticated.
"""

from __future__ import annotations

import base64
import binascii
import json
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from orderhub.channels.cscart.sandbox_listing import CsCartError, bad_request, error_body
from orderhub.channels.cscart.sandbox_state import ADMIN_EMAIL, API_KEY, CsCartSandbox
from orderhub.channels.cscart.sandbox_statuses import status, status_page
from orderhub.channels.sandbox_app import app_factory, routes, sandbox_app, shaped_errors
from orderhub.channels.sandbox_app import json_response as _json
from orderhub.channels.sandbox_kit import SandboxApp, respond

__all__ = ["ADMIN_EMAIL", "API_KEY", "CsCartSandbox", "create_app"]

_CHALLENGE = (b"www-authenticate", b'Basic realm="CS-Cart API"')


def _app(sandbox: CsCartSandbox) -> SandboxApp:
    errors = shaped_errors(
        CsCartError,
        error_body,
        server_message="Internal Server Error",
        http_message=lambda request, exc: f"{exc.detail}: {request.method} {request.url.path}",
    )
    return sandbox_app(
        sandbox,
        routes=[*_api_routes(sandbox), *_control_routes(sandbox)],
        invalid=bad_request,
        error_body=error_body,
        errors=errors,
        gate=BasicAuthGate,
    )


#: `create_app(orders, seed, faults, life, *, life_interval)`: the CS-Cart sandbox app.
create_app = app_factory(CsCartSandbox, _app)


class BasicAuthGate:
    """Every /api request carries HTTP Basic credentials: the admin's e-mail and API key."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        api = scope["type"] == "http" and (path == "/api" or path.startswith("/api/"))
        if api and not _authorised(scope):
            body = error_body(401, "Unauthorized: HTTP Basic admin e-mail and API key needed")
            await respond(send, 401, body, [_CHALLENGE])
            return
        await self.app(scope, receive, send)


def _authorised(scope: Scope) -> bool:
    headers = dict(scope.get("headers") or [])
    scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, key = base64.b64decode(token, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return user == ADMIN_EMAIL and key == API_KEY


# --- routes ---------------------------------------------------------------------------------


def _api_routes(sandbox: CsCartSandbox) -> list[Route]:
    async def orders(request: Request) -> Response:
        return _json(sandbox.list_orders(request.query_params.multi_items()))

    async def search(request: Request) -> Response:
        return _json(sandbox.search(request.query_params.get("vendor_ref")))

    async def order(request: Request) -> Response:
        return _json(sandbox.order(_order_id(request)))

    async def update(request: Request) -> Response:
        return _json(sandbox.update(_order_id(request), await _body(request)))

    table = {
        "GET /api/orders[/]": orders,
        "GET /api/orders/search[/]": search,
        "GET /api/orders/{order_id}": order,
        "PUT /api/orders/{order_id}": update,
    }
    return [*routes(table), *_shipments(sandbox)]


def _shipments(sandbox: CsCartSandbox) -> list[Route]:
    """The endpoints of shipments and statuses."""

    async def statuses(request: Request) -> Response:
        return _json(status_page(request.query_params.multi_items()))

    async def one_status(request: Request) -> Response:
        return _json(status(_path_id(request, "status_id")))

    async def shipments(request: Request) -> Response:
        return _json(sandbox.shipments.page(request.query_params.multi_items()))

    async def create(request: Request) -> Response:
        return _json(sandbox.create_shipment(await _body(request)), 201)

    async def shipment(request: Request) -> Response:
        return _json(sandbox.shipments.get(_path_id(request, "shipment_id")))

    async def change(request: Request) -> Response:
        shipment_id = _path_id(request, "shipment_id")
        return _json(sandbox.update_shipment(shipment_id, await _body(request)))

    async def delete(request: Request) -> Response:
        sandbox.delete_shipment(_path_id(request, "shipment_id"))
        return Response(status_code=204)

    return routes(
        {
            "GET /api/statuses[/]": statuses,
            "GET /api/statuses/{status_id}": one_status,
            "GET /api/shipments[/]": shipments,
            "POST /api/shipments[/]": create,
            "GET /api/shipments/{shipment_id}": shipment,
            "PUT /api/shipments/{shipment_id}": change,
            "DELETE /api/shipments/{shipment_id}": delete,
        }
    )


def _control_routes(sandbox: CsCartSandbox) -> list[Route]:
    async def mail(request: Request) -> Response:
        return _json({"mail": sandbox.mail_json()})

    async def all_orders(request: Request) -> Response:
        return _json({"orders": sandbox.orders_json()})

    return routes({"GET /_sandbox/mail": mail, "GET /_sandbox/orders": all_orders})


def _order_id(request: Request) -> int:
    return _path_id(request, "order_id")


def _path_id(request: Request, name: str) -> int:
    raw = request.path_params[name]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise bad_request(f"{name}: expected an integer, got {raw!r}")
    return int(raw)


async def _body(request: Request) -> Any:
    try:
        return json.loads(await request.body(), parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("the body must be a JSON object") from None
