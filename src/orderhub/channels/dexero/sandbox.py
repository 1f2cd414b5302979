"""The Dexero sandbox: Dexero's REST v2 order API (seed 003, design section 4) at
`/service/rest/2/merchant/catalog`, with OAuth2 client credentials at `/oauth/token.action`,
generated orders, order life and injectable faults.

`create_app(...)` returns the ASGI app; `app.state.sandbox` is its `DexeroSandbox`. Control
endpoints for tests and the demo live under `/_sandbox/` (not Dexero's): never faulted, counted
or authenticated.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qsl
from xml.etree.ElementTree import Element, SubElement, tostring

from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from orderhub.channels.dexero.sandbox_listing import LISTS, DexeroError
from orderhub.channels.dexero.sandbox_state import CLIENT_ID, CLIENT_SECRET, DexeroSandbox
from orderhub.channels.dexero.xmlcodec import order_to_xml, page_to_xml
from orderhub.channels.sandbox_app import app_factory, routes, sandbox_app
from orderhub.channels.sandbox_kit import SandboxApp
from orderhub.domain.jsonfmt import dumps

__all__ = ["CLIENT_ID", "CLIENT_SECRET", "PREFIX", "DexeroSandbox", "create_app"]

PREFIX = "/service/rest/2/merchant/catalog"
TOKEN_PATH = "/oauth/token.action"
WRITES = "POST|PUT|PATCH|DELETE"
_FORMATS = {"json": "application/json", "xml": "application/xml"}


def _app(sandbox: DexeroSandbox) -> SandboxApp:
    return sandbox_app(
        sandbox,
        routes=[*_api_routes(sandbox), *_control_routes(sandbox)],
        invalid=lambda message: DexeroError(400, "invalid_parameter", message),
        error_body=_fault_body,
        errors={
            DexeroError: _dexero_error,
            HTTPException: _http_error,
            Exception: _server_error,
        },
        middleware=[Middleware(BearerGate, sandbox=sandbox)],
    )


#: `create_app(orders, seed, faults, life, *, life_interval, token_ttl, token_clock)`: the
#: Dexero sandbox app (DexeroSandbox says what its own options do).
create_app = app_factory(DexeroSandbox, _app)


class BearerGate:
    """Every request under PREFIX needs `Authorization: Bearer <a token not expired>`."""

    def __init__(self, app: ASGIApp, sandbox: DexeroSandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() == "bearer" and self.sandbox.tokens.valid(token.strip()):
            await self.app(scope, receive, send)
            return
        error = DexeroError(401, "invalid_token", "a valid bearer token is required")
        body, media = _error_body(error, _format_of(path))
        challenge = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        await Response(body, 401, challenge, media_type=media)(scope, receive, send)


# --- Dexero's API ---------------------------------------------------------------------------


def _api_routes(sandbox: DexeroSandbox) -> list[Route]:
    async def orders(request: Request) -> Response:
        name, fmt = _resource(request.path_params["resource"])
        params = request.query_params.multi_items()
        if name in LISTS:
            page = sandbox.list_orders(name, params, fmt)
            return _answer(page, fmt, page_to_xml)
        return _answer(sandbox.order(name, params), fmt, order_to_xml)

    async def every_order(request: Request) -> Response:
        fmt = request.path_params.get("fmt", "xml")
        if fmt not in _FORMATS:
            message = f"format: expected .json or .xml, got {'orders.' + fmt!r}"
            raise DexeroError(400, "invalid_format", message)
        page = sandbox.list_all(request.query_params.multi_items(), fmt)
        return _answer(page, fmt, page_to_xml)

    async def read_only(request: Request) -> Response:
        message = "Dexero's order API is read-only: it has no write calls"
        raise DexeroError(405, "method_not_allowed", message)

    async def token(request: Request) -> Response:
        return _json(await _grant(sandbox, request))

    return routes(
        {
            f"GET {PREFIX}/orders.{{fmt}}": every_order,
            f"GET {PREFIX}/orders": every_order,
            f"GET {PREFIX}/orders/{{resource}}": orders,
            f"{WRITES} {PREFIX}/orders/{{resource}}": read_only,
            f"POST {TOKEN_PATH}": token,
        }
    )


def _resource(resource: str) -> tuple[str, str]:
    """`pending.json` -> ("pending", "json"); the format is the extension (json or xml), and
    XML when there is none (Dexero's "REST Resources" page)."""
    name, dot, fmt = resource.rpartition(".")
    if not dot:
        return resource, "xml"
    if fmt not in _FORMATS:
        raise DexeroError(
            400, "invalid_format", f"format: expected .json or .xml, got {resource!r}"
        )
    return name, fmt


async def _grant(sandbox: DexeroSandbox, request: Request) -> dict[str, Any]:
    """OAuth2 client credentials (RFC 6749 4.4): grant_type in the form body or the query,
    the client in HTTP Basic or in client_id/client_secret."""
    values = dict(request.query_params)
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        values |= dict(parse_qsl((await request.body()).decode("latin-1")))
    grant = values.get("grant_type")
    if grant != "client_credentials":
        raise OAuthError(400, "unsupported_grant_type", "grant_type must be client_credentials")
    client = _basic(request.headers.get("authorization", ""))
    client_id, secret = client or (values.get("client_id"), values.get("client_secret"))
    if (client_id, secret) != (CLIENT_ID, CLIENT_SECRET):
        raise OAuthError(401, "invalid_client", "client_id or client_secret not valid")
    return sandbox.tokens.issue()


def _basic(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return client_id, secret


class OAuthError(DexeroError):
    """The token endpoint answers in OAuth2's own shape (RFC 6749 5.2)."""

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "error_description": self.message}


# --- control endpoints ----------------------------------------------------------------------


def _control_routes(sandbox: DexeroSandbox) -> list[Route]:
    async def all_orders(request: Request) -> Response:
        return _json({"orders": sandbox.orders_json()})

    async def expire_tokens(request: Request) -> Response:
        return _json({"revoked": sandbox.tokens.revoke_all()})

    return routes(
        {"GET /_sandbox/orders": all_orders, "POST /_sandbox/tokens/expire": expire_tokens}
    )


# --- answers and errors ---------------------------------------------------------------------


def _answer(body: dict[str, Any], fmt: str, to_xml: Any) -> Response:
    if fmt == "xml":
        return Response(to_xml(body), media_type=_FORMATS["xml"])
    return _json(body)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(body), status, headers, media_type="application/json")


def _format_of(path: str) -> str:
    """The format an answer to `path` takes: its extension; XML for an API path without one."""
    bare = path.startswith(f"{PREFIX}/") and "." not in path.rsplit("/", 1)[-1]
    return "xml" if path.endswith(".xml") or bare else "json"


def _error_body(error: DexeroError, fmt: str) -> tuple[bytes, str]:
    if fmt != "xml" or isinstance(error, OAuthError):
        return dumps(error.body()), _FORMATS["json"]
    root = Element("error")
    for key, value in error.body()["error"].items():
        SubElement(root, key).text = str(value)
    return tostring(root, encoding="utf-8", xml_declaration=True), _FORMATS["xml"]


def _fault_body(status: int, message: str) -> bytes:
    return dumps(DexeroError(status, "server_error", message).body())


def _error_response(request: Request, error: DexeroError) -> Response:
    body, media = _error_body(error, _format_of(request.url.path))
    refused_client = isinstance(error, OAuthError) and error.status == 401
    headers = {"WWW-Authenticate": "Basic"} if refused_client else None
    return Response(body, error.status, headers, media_type=media)


async def _dexero_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DexeroError)
    return _error_response(request, exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
    return _error_response(request, DexeroError(exc.status_code, code, str(exc.detail)))


async def _server_error(request: Request, exc: Exception) -> Response:
    return _error_response(request, DexeroError(500, "server_error", "internal error"))
