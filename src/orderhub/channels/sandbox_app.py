"""What every channel sandbox's app shares: how it is put together (fault injector outermost,
the channel's gate, its routes, its error shapes) and started, and its JSON answers.

A channel's `sandbox.py` keeps its own routes, gate and error body, and calls `sandbox_app`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from orderhub.channels.sandbox_kit import ErrorBody, FaultInjector, SandboxApp
from orderhub.domain.jsonfmt import dumps

JSON = "application/json"
#: An exception handler of a Starlette app.
Handler = Callable[[Request, Exception], Awaitable[Response]]


class ChannelError(Protocol):
    """An error a channel's API answers in its own shape."""

    status: int

    def body(self) -> Any: ...


def sandbox_app(
    sandbox: Any,
    *,
    routes: Sequence[BaseRoute],
    error_body: ErrorBody,
    errors: dict[Any, Handler],
    life: bool,
    life_interval: float,
    gate: Callable[[ASGIApp], ASGIApp] | None = None,
    middleware: Sequence[Middleware] = (),
) -> SandboxApp:
    """The channel's app around `sandbox` (its `SandboxState`): faults drawn from its live
    faults and answered with `error_body`, then the `gate` (if any), the middleware and routes;
    order life every `life_interval` s when `life`. `app.state.sandbox` is the sandbox."""

    def outer(inner: ASGIApp) -> ASGIApp:
        gated = inner if gate is None else gate(inner)
        return FaultInjector(gated, sandbox.live_faults, sandbox.traffic, error_body)

    app = SandboxApp(
        outer=outer, routes=list(routes), middleware=list(middleware), exception_handlers=errors
    )
    app.state.sandbox = sandbox
    sandbox.start(life_interval if life else None)
    return app


def json_response(body: Any, status: int = 200) -> Response:
    return Response(dumps(body), status_code=status, media_type=JSON)


def shaped_errors(
    error_type: type[Exception],
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
        shaped: ChannelError = exc  # type: ignore[assignment]
        return json_response(shaped.body(), shaped.status)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = exc.detail if http_message is None else http_message(request, exc)
        body = error_body(exc.status_code, message)
        return Response(body, exc.status_code, exc.headers, media_type=JSON)

    async def server_error(request: Request, exc: Exception) -> Response:
        return Response(error_body(500, server_message), 500, media_type=JSON)

    return {error_type: channel_error, HTTPException: http_error, Exception: server_error}
