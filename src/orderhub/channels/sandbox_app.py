"""What every channel sandbox's app shares: `create_app`'s options (`app_factory`), how the app
is put together (fault injector outermost, the channel's gate, its routes, its error shapes) and
started, its route tables, its errors and its JSON answers.

A channel's `sandbox.py` keeps its own routes, gate and error body: its `_app(sandbox)` calls
`sandbox_app`, and `create_app = app_factory(<Channel>Sandbox, _app)`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from orderhub.channels.sandbox_control import Invalid, control_routes
from orderhub.channels.sandbox_kit import ErrorBody, FaultInjector, FaultSpec, SandboxApp
from orderhub.channels.sandbox_state import SandboxState
from orderhub.domain.jsonfmt import dumps

JSON = "application/json"
#: An exception handler of a Starlette app.
Handler = Callable[[Request, Exception], Awaitable[Response]]
#: A route's endpoint.
Endpoint = Callable[[Request], Awaitable[Response]]
StateT = TypeVar("StateT", bound=SandboxState)


def app_factory(
    state: Callable[..., StateT], app: Callable[[StateT], SandboxApp]
) -> Callable[..., SandboxApp]:
    """The `create_app` of a channel whose sandbox state is `state` (its `SandboxState` class,
    called as `state(orders, seed, faults, anchor=..., **options)`) and whose app `app` puts
    together."""

    def create_app(
        orders: int = 1000,
        seed: int = 1,
        faults: str | None = None,
        life: bool = False,
        *,
        life_interval: float = 10.0,
        anchor: datetime | None = None,
        **options: Any,
    ) -> SandboxApp:
        """The sandbox app of `orders` generated orders (same `seed`, same orders). `faults`
        is a spec such as `429=0.2,500=0.05,seed=7` (ValueError when malformed); `life` runs
        a step of order life every `life_interval` seconds; `anchor` moves the generated
        orders' times into the year before it (`domain.samples.generate_orders`; the demo's
        "now"); `options` are the channel's own (its state's keyword arguments: MALL's
        `webhook_url`, Dexero's `token_ttl` ...)."""
        sandbox = state(orders, seed, FaultSpec.parse(faults), anchor=anchor, **options)
        built = app(sandbox)
        sandbox.start(life_interval if life else None)
        return built

    return create_app


class SandboxError(Exception):
    """A refusal the channel's API answers in its own shape (`body()`): the HTTP `status`, the
    channel's error `code` and a `message`."""

    def __init__(self, status: int, code: int | str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> Any:
        raise NotImplementedError


def sandbox_app(
    sandbox: SandboxState,
    *,
    routes: Sequence[BaseRoute],
    invalid: Invalid,
    error_body: ErrorBody,
    errors: dict[Any, Handler],
    gate: Callable[[ASGIApp], ASGIApp] | None = None,
    middleware: Sequence[Middleware] = (),
) -> SandboxApp:
    """The channel's app around `sandbox`: faults drawn from its live faults and answered with
    `error_body`, then the `gate` (if any), the middleware, and the channel's `routes` followed
    by the control endpoint's (`sandbox_control`: a bad parameter raises `invalid(message)`,
    the channel's 400). `app.state.sandbox` is the sandbox; `app_factory` starts it."""

    def outer(inner: ASGIApp) -> ASGIApp:
        gated = inner if gate is None else gate(inner)
        return FaultInjector(gated, sandbox.live_faults, sandbox.traffic, error_body)

    app = SandboxApp(
        outer=outer,
        routes=[*routes, *control_routes(sandbox, invalid)],
        middleware=list(middleware),
        exception_handlers=errors,
    )
    app.state.sandbox = sandbox
    return app


def routes(table: Mapping[str, Endpoint]) -> list[Route]:
    """Routes from a table of `"METHOD /path": endpoint`, in its order (the first that matches
    answers). `GET|PUT` names several methods; a path ending in `[/]` is served with and without
    its trailing slash (`"GET /api/orders[/]"`)."""
    found: list[Route] = []
    for key, endpoint in table.items():
        methods, _, path = key.partition(" ")
        bare = path.removesuffix("[/]")
        paths = (bare, bare + "/") if bare != path else (path,)
        found += [Route(each, endpoint, methods=methods.split("|")) for each in paths]
    return found


def json_response(body: Any, status: int = 200) -> Response:
    return Response(dumps(body), status_code=status, media_type=JSON)


def shaped_errors(
    error_type: type[SandboxError],
    error_body: ErrorBody,
    *,
    server_message: str = "internal error",
    http_message: Callable[[Request, HTTPException], str] | None = None,
) -> dict[Any, Handler]:
    """Exception handlers answering in the channel's shape: its own errors (`error_type`, with
    `status` and `body()`) as they say, Starlette's (404, 405 ...) and any other (500) through
    `error_body`; `http_message` words Starlette's (default: its detail)."""

    async def channel_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, error_type)
        return json_response(exc.body(), exc.status)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = exc.detail if http_message is None else http_message(request, exc)
        body = error_body(exc.status_code, message)
        return Response(body, exc.status_code, exc.headers, media_type=JSON)

    async def server_error(request: Request, exc: Exception) -> Response:
        return Response(error_body(500, server_message), 500, media_type=JSON)

    return {error_type: channel_error, HTTPException: http_error, Exception: server_error}
