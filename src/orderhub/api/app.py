"""The hub's HTTP API: FastAPI app factory."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI, Request
from sqlalchemy import Engine
from starlette.responses import Response
from starlette.types import ASGIApp

from orderhub import __version__
from orderhub.api import (
    auth,
    channel_webhooks,
    channels,
    docs,
    exports,
    fast_reads,
    idempotency,
    jobs,
    limits,
    line_actions,
    metrics,
    order_tags,
    order_writes,
    orders,
    problems,
    views,
)
from orderhub.api import webhooks as webhooks_api
from orderhub.api.logs import AccessLog, LogOptions, configure_logging
from orderhub.api.openapi import finish_openapi
from orderhub.api.problems import problem
from orderhub.api.request_id import RequestId
from orderhub.api.schemas import Health, Ready, answer
from orderhub.domain.clock import SYSTEM_CLOCK, Clock
from orderhub.services.health import readiness
from orderhub.settings import get_settings
from orderhub.store import make_engine, pool_size


def create_app(engine: Engine | None = None, clock: Clock = SYSTEM_CLOCK) -> FastAPI:
    """The API over `engine`; `clock` decides the quota's day (tests pass one they move)."""
    app = FastAPI(
        title="orderhub",
        version=__version__,
        description="One API over every sales channel's orders, with the MALL query language.",
        # One schema per model: money is then a JSON number, as the API writes it.
        separate_input_output_schemas=False,
        docs_url=None,  # api/docs.py serves /docs and /redoc without a CDN
        redoc_url=None,
    )
    app.state.engine = engine or make_engine(get_settings().database_url)
    app.state.clock = clock
    problems.install(app)
    idempotency.install(app)  # inside the key check: the key scopes the Idempotency-Key
    auth.install(app)  # before any router: it guards the routes included after it
    app.add_middleware(limits.InputGuard)  # runs before the key check
    app.add_middleware(metrics.HttpMetrics)  # counts and times every answer (raised: a 500)
    _outermost(app)  # even a refusal, even an unexpected error, has its id and access line
    app.include_router(jobs.router)  # first: /orders/bulk is not an order id
    app.include_router(order_writes.router)  # first: /orders/search before /orders/{id}
    app.include_router(line_actions.router)
    app.include_router(order_tags.router)
    app.include_router(orders.router)
    app.include_router(exports.router)
    app.include_router(channels.router)
    app.include_router(channel_webhooks.router)
    app.include_router(webhooks_api.router)
    app.include_router(views.router)
    app.include_router(metrics.router)
    # The hot reads skip FastAPI's routing; on SQLite a lookup stays on the event loop.
    sqlite = app.state.engine.dialect.name == "sqlite"
    fast_reads.install(
        app.router,
        reads_on_loop=sqlite,
        threads=1 if sqlite else pool_size(app.state.engine),
    )

    _finish_openapi(app)
    docs.install(app)

    @app.get(
        "/healthz",
        tags=["health"],
        summary="Liveness: needs no key",
        responses=answer(Health, "The process is alive"),
    )
    def healthz() -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    @app.get(
        "/readyz",
        tags=["health"],
        summary="Readiness: the database is reachable and migrated to head; needs no key",
        responses={
            **answer(Ready, "Ready"),
            503: {"description": "Not ready: the problem's detail says why"},
        },
    )
    def readyz(request: Request) -> Response:
        state = readiness(request.app.state.engine)
        if not state.ready:
            detail = state.reason or "not ready"
            return problem(request, 503, "Not ready", detail, "not-ready", head=state.head)
        body = {"status": "ready", "revision": state.revision}
        return Response(orjson.dumps(body), media_type="application/json")

    return app


def create_served_app() -> FastAPI:
    """The app of `orderhub serve`'s server processes: logging as the command line asked
    (passed through the environment, which worker processes inherit), then the app."""
    configure_logging(LogOptions.from_env())
    return create_app()


def _outermost(app: FastAPI) -> None:
    """`RequestId`, then `AccessLog`, around the whole stack, Starlette's ServerErrorMiddleware
    included (`add_middleware` puts them inside it): the 500 of an unexpected error carries
    the id in its header, its body and its log lines, and has its access line."""
    build = app.build_middleware_stack

    def build_with_id() -> ASGIApp:
        return RequestId(AccessLog(build()))

    app.build_middleware_stack = build_with_id  # type: ignore[method-assign]


def _finish_openapi(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = finish_openapi(generate(), auth.guarded)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
