"""The CDON sandbox: CDON's order API (seed 004, design section 4) at `/api`, served locally with
generated orders, order life and injectable faults.

`create_app(...)` returns the ASGI app; `app.state.sandbox` is its `CdonSandbox`. Control
endpoints for tests and the demo live under `/_sandbox/` (not CDON's): never faulted, counted or
authenticated.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from orderhub.channels.cdon.sandbox_api import ROW_CALLS
from orderhub.channels.cdon.sandbox_rows import BAD_REQUEST, CdonError
from orderhub.channels.cdon.sandbox_state import API_KEY, CdonSandbox
from orderhub.channels.sandbox_app import Endpoint, app_factory, routes, sandbox_app, shaped_errors
from orderhub.channels.sandbox_app import json_response as _json
from orderhub.channels.sandbox_kit import SandboxApp, respond
from orderhub.domain.jsonfmt import dumps

__all__ = ["API_KEY", "CdonSandbox", "create_app", "error_body"]


def _app(sandbox: CdonSandbox) -> SandboxApp:
    return sandbox_app(
        sandbox,
        routes=[*_api_routes(sandbox), *_control_routes(sandbox)],
        invalid=lambda message: CdonError(400, BAD_REQUEST, message),
        error_body=error_body,
        errors=shaped_errors(CdonError, error_body),
        middleware=[Middleware(CdonAuth)],
    )


#: `create_app(orders, seed, faults, life, *, life_interval)`: the CDON sandbox app.
create_app = app_factory(CdonSandbox, _app)


def error_body(status: int, message: str) -> bytes:
    """CDON's error shape for answers not about the request's content (401, 404 of an unknown
    path, 405, 429, 500): the ErrorCode is the HTTP status (CDON documents only 1006)."""
    return dumps({"ErrorCode": status, "Message": message})


class CdonAuth:
    """`Authorization: api <key>` on every /api request, else 401 in CDON's shape."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and (path == "/api" or path.startswith("/api/")):
            headers = dict(scope.get("headers") or [])
            scheme, _, key = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
            if scheme.lower() != "api" or key.strip() != API_KEY:
                message = "Authorization: expected 'api <your API key>'"
                await respond(send, 401, error_body(401, message))
                return
        await self.app(scope, receive, send)


# --- routes ---------------------------------------------------------------------------------


def _api_routes(sandbox: CdonSandbox) -> list[Route]:
    async def orders(request: Request) -> Response:
        return _json(sandbox.list_orders(request.query_params.multi_items()))

    async def order(request: Request) -> Response:
        raw = request.path_params["order_id"]
        if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
            raise CdonError(400, BAD_REQUEST, f"OrderId: expected a number, got {raw!r}")
        return _json(sandbox.order(int(raw)))

    def row_call(call: str) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            return _json(sandbox.row_call(call, await _body(request)))

        return endpoint

    return routes(
        {
            "GET /api/order[/]": orders,
            "GET /api/order/{order_id}": order,
            **{f"POST /api/{call}": row_call(call) for call in ROW_CALLS},
        }
    )


def _control_routes(sandbox: CdonSandbox) -> list[Route]:
    async def all_orders(request: Request) -> Response:
        return _json(sandbox.orders_json())

    return routes({"GET /_sandbox/orders": all_orders})


async def _body(request: Request) -> Any:
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise CdonError(400, BAD_REQUEST, "the body must be a JSON object") from None
