"""The MALL sandbox: MALL's order API (seeds 000 and 001, design section 4) at `/v1`, served
locally with generated orders, order life, a daily quota, webhooks and injectable faults.

`create_app(...)` returns the ASGI app; `app.state.sandbox` is its `MallSandbox`. Control
endpoints for tests and the demo live under `/_sandbox/` (not MALL's): never faulted, counted,
throttled or authenticated.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from orderhub.channels.mall.sandbox_listing import OK, STATUS_LISTS
from orderhub.channels.mall.sandbox_state import CLIENT_ID, MallSandbox
from orderhub.channels.mall.sandbox_store import loads
from orderhub.channels.mall.sandbox_updates import MallError, error_body
from orderhub.channels.sandbox_app import Endpoint, app_factory, routes, sandbox_app, shaped_errors
from orderhub.channels.sandbox_app import json_response as _json
from orderhub.channels.sandbox_kit import SandboxApp, respond, with_headers
from orderhub.domain.jsonfmt import dumps

__all__ = ["CLIENT_ID", "MallSandbox", "create_app"]


def _app(sandbox: MallSandbox) -> SandboxApp:
    return sandbox_app(
        sandbox,
        routes=_routes(sandbox),
        invalid=lambda message: MallError(400, "INVALID_PARAMETER", message),
        error_body=error_body,
        errors=shaped_errors(MallError, error_body),
        middleware=[Middleware(MallGate, sandbox=sandbox)],
    )


#: `create_app(orders, seed, faults, life, *, life_interval, webhook_url, daily_limit,
#: webhook_interval)`: the MALL sandbox app (MallSandbox says what its own options do).
create_app = app_factory(MallSandbox, _app)


class MallGate:
    """`client_id` (required on every /v1 request, else 401) and the daily quota per endpoint
    group, reported as X-RateLimit-Limit/Remaining/Reset on every answer, 429 past it."""

    def __init__(self, app: ASGIApp, sandbox: MallSandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == "/v1" or path.startswith("/v1/")):
            await self.app(scope, receive, send)
            return
        group = endpoint_group(path)
        quota = self.sandbox.quota
        if not self._authorised(scope):
            error = MallError(401, "UNAUTHORIZED", "client_id missing or not valid", {})
            await respond(send, 401, dumps(error.body()), quota.peek(group).headers())
            return
        state = quota.take(group)
        if not state.allowed:
            message = f"daily API limit of {state.limit} requests for {group} exceeded"
            error = MallError(429, "LIMIT_EXCEEDED", message, {"group": group})
            await respond(send, 429, dumps(error.body()), state.headers())
            return
        await self.app(scope, receive, with_headers(send, state.headers()))

    def _authorised(self, scope: Scope) -> bool:
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        return any(name == "client_id" and value == CLIENT_ID for name, value in query)


def endpoint_group(path: str) -> str:
    """The quota group of a /v1 path: its first segment (`/v1/orders/5` -> `orders`)."""
    parts = path.split("/")
    return parts[2] if len(parts) > 2 and parts[2] else "root"


# --- routes ---------------------------------------------------------------------------------


def _routes(sandbox: MallSandbox) -> list[Route]:
    async def orders(request: Request) -> Response:
        params = request.query_params.multi_items()
        return _json(sandbox.list_orders(params, unconfirmed=False))

    async def unconfirmed(request: Request) -> Response:
        params = request.query_params.multi_items()
        return _json(sandbox.list_orders(params, unconfirmed=True))

    async def order(request: Request) -> Response:
        return _json({"data": sandbox.order(_order_id(request)), "result": OK})

    async def update(request: Request) -> Response:
        changed = sandbox.update(_order_id(request), await _body(request))
        return _json({"data": changed, "result": OK})

    async def tracking(request: Request) -> Response:
        changed = sandbox.update_tracking(_order_id(request), await _body(request))
        return _json({"data": changed, "result": OK})

    async def serial_numbers(request: Request) -> Response:
        item = request.path_params["item_id"]
        changed = sandbox.set_serial_numbers(_order_id(request), item, await _body(request))
        return _json({"data": changed, "result": OK})

    async def labels(request: Request) -> Response:
        return _json({"data": sandbox.labels(await _body(request)), "result": OK})

    return routes(
        {
            **_control_routes(sandbox),
            "GET /v1/orders": orders,
            "GET /v1/orders/unconfirmed": unconfirmed,
            "POST /v1/orders/labels": labels,
            **_read_routes(sandbox),
            "GET /v1/orders/{order_id}": order,
            "PUT /v1/orders/{order_id}": update,
            "PUT /v1/orders/{order_id}/tracking": tracking,
            "PUT /v1/orders/{order_id}/items/{item_id}/serial-numbers": serial_numbers,
        }
    )


def _read_routes(sandbox: MallSandbox) -> dict[str, Endpoint]:
    """GET /v1/orders/stats and the per-status lists (`/v1/orders/open` ...)."""

    async def stats(request: Request) -> Response:
        return _json(sandbox.order_stats(request.query_params.multi_items()))

    def status_list(word: str) -> Endpoint:
        async def listed(request: Request) -> Response:
            params = request.query_params.multi_items()
            return _json(sandbox.list_orders(params, unconfirmed=False, status_list=word))

        return listed

    lists = {f"GET /v1/orders/{word}": status_list(word) for word in STATUS_LISTS}
    return {"GET /v1/orders/stats": stats, **lists}


def _control_routes(sandbox: MallSandbox) -> dict[str, Endpoint]:
    async def flush(request: Request) -> Response:
        if sandbox.webhooks is None:
            raise MallError(400, "NO_WEBHOOK_URL", "the sandbox has no webhook URL configured")
        return _json({"sent": sandbox.flush_webhooks()})

    async def all_orders(request: Request) -> Response:
        return _json({"data": sandbox.orders_json()})

    return {"POST /_sandbox/webhooks/flush": flush, "GET /_sandbox/orders": all_orders}


def _order_id(request: Request) -> int:
    raw = request.path_params["order_id"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise MallError(400, "INVALID_PARAMETER", "id: expected an order id", {"id": raw})
    return int(raw)


async def _body(request: Request) -> Any:
    try:
        return loads(await request.body())
    except ValueError:
        raise MallError(400, "INVALID_JSON", "the body must be JSON") from None
