"""`GET /metrics` (Prometheus text format, scope `metrics`), the middleware that counts HTTP
requests by route template, and the multiprocess setup for `serve --workers N`.

What this process counts (api/instruments.py) is joined at scrape time with what the database
says every process did (services/metrics.py). docs/operations.md, "Metrics", lists them all.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import APIRouter, Request
from fastapi.routing import iter_route_contexts
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4 as CONTENT_TYPE
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import Receive, Scope, Send

from orderhub.api.asgi import HttpMiddleware, StatusNotingSend
from orderhub.api.auth import METRICS, require
from orderhub.api.instruments import HTTP_DURATION, HTTP_REQUESTS, UNMATCHED
from orderhub.services.metrics import DatabaseCollector

#: prometheus-client's own variable: set, every process writes its counts to files there.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

#: Methods counted under their own name; any other token a client sends is "OTHER".
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    summary="Prometheus metrics (text format); needs a key with the scope `metrics` or `admin`",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {"schema": {"type": "string"}}}}},
    dependencies=[require(METRICS)],
)
def metrics(request: Request) -> Response:
    return Response(exposition(request), media_type=CONTENT_TYPE)


def exposition(request: Request) -> bytes:
    """This process's metrics (or every server process's, in multiprocess mode), then the
    database's."""
    database = CollectorRegistry(auto_describe=False)
    database.register(DatabaseCollector(request.app.state.engine, request.app.state.clock))
    return generate_latest(_processes()) + generate_latest(database)


def _processes() -> CollectorRegistry:
    if not os.environ.get(MULTIPROC_ENV):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


@contextmanager
def shared_between_workers(workers: int) -> Iterator[None]:
    """With several server processes, a fresh PROMETHEUS_MULTIPROC_DIR for their lifetime (set
    before they start, removed after), so `/metrics` on any one shows all of them. One process
    counts in memory; a directory the operator set is used as it is."""
    if workers <= 1 or os.environ.get(MULTIPROC_ENV):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="orderhub-metrics-") as directory:
        os.environ[MULTIPROC_ENV] = directory
        try:
            yield
        finally:
            os.environ.pop(MULTIPROC_ENV, None)


def route_template(scope: Scope) -> str:
    """The template of the route that answered (`/v1/orders/{order_id}`), also for a request
    refused before routing (401, 429); `UNMATCHED` when no route matches the path."""
    route = scope.get("route")
    if route is None:
        route = matching_route(scope)
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) and template else UNMATCHED


def matching_route(scope: Scope) -> object | None:
    """The route the router would pick (FULL, else the first PARTIAL: a 405), or None."""
    routes = getattr(getattr(scope.get("app"), "router", None), "routes", ())
    partial = None
    for route in iter_route_contexts(routes):
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route
        if match is Match.PARTIAL and partial is None:
            partial = route
    return partial


class HttpMetrics(HttpMiddleware):
    """Pure ASGI middleware, outermost: counts and times every HTTP answer."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        answer = StatusNotingSend(send)
        try:
            await self.app(scope, receive, answer)
        finally:
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            counter, histogram = _instruments(method, route_template(scope), answer.status)
            counter.inc()
            histogram.observe(time.perf_counter() - started)


_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


def _instruments(method: str, route: str, status: int) -> tuple[Counter, Histogram]:
    """The labelled counter and histogram, kept: `labels()` costs 3x the counting itself.
    Bounded as the labels are (methods x route templates x statuses)."""
    key = (method, route, status)
    found = _children.get(key)
    if found is None:
        counter = HTTP_REQUESTS.labels(method, route, str(status))
        found = (counter, HTTP_DURATION.labels(method, route))
        _children[key] = found
    return found
