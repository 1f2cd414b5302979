"""The hot read routes dispatched without FastAPI's router and dependency solver.

`GET /v1/orders[.json|.xml]`, `GET /v1/orders/unconfirmed[.xml]` and `GET /v1/orders/{id}`
with a numeric id are most of the read API's traffic. FastAPI finds their route by trying every
route of every included router in turn (twice: once to match, once to handle), then solves the
dependencies (`require(READ)`, the bearer scheme, the app-wide scope check), then hops to a
worker thread: together about 0.8 ms of CPU per request, where the lookup itself costs 0.15 ms
(docs/performance.md, "Read API"). This dispatcher sits just outside the router (inside the
exception middleware, so errors become the same problems), answers those paths by calling the
very same endpoint functions, and passes every other request on untouched:

- the key was admitted by `ApiKeyMiddleware` (outside); the route's scope (`orders:read`) is
  checked here as `_check_scopes` does;
- `scope["route"]` is the route the router would have picked, so metrics and logs name it;
- on SQLite a lookup runs on the event loop: one indexed read of a local file, cheaper than the
  hop to a thread and free of the GIL hand-offs that made 8 concurrent connections answer fewer
  requests than one. A list runs there too, within a budget of a few milliseconds of SQL
  (`LOOP_BUDGET_SECONDS`, store/budget.py): one that runs over it (a deep offset page, a total
  not counted yet) is interrupted and asked again in a thread, so a slow statement never holds
  the loop for long. Threads take one list at a time on SQLite; on PostgreSQL every read runs
  in one, at most the pool's size at once (below).

The routes stay declared in FastAPI (OpenAPI, HEAD, other methods' 405s go through them).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from anyio import CapacityLimiter, to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Router
from starlette.types import ASGIApp, Receive, Scope, Send

from orderhub.api import orders
from orderhub.api.auth import READ, current_key
from orderhub.api.metrics import matching_route
from orderhub.services.keys import MissingScope
from orderhub.store import budget

#: CPU a list may spend on the event loop (SQLite) before it is asked again in a thread.
LOOP_BUDGET_SECONDS = 0.005
#: How long lists of a shape that ran over go straight to a thread.
SLOW_SHAPE_SECONDS = 1.0
_MAX_SHAPES = 1_024

_NEEDED = frozenset({READ})
_LISTS: dict[str, Callable[[Request], Response]] = {
    "/v1/orders": orders.list_orders,
    "/v1/orders.json": orders.list_orders_json,
    "/v1/orders.xml": orders.list_orders_xml,
    "/v1/orders/unconfirmed": orders.list_unconfirmed,
    "/v1/orders/unconfirmed.xml": orders.list_unconfirmed_xml,
}
_LOOKUP_PREFIX = "/v1/orders/"


class FastReads:
    """ASGI app around the router: the hot read routes directly, the rest to the router."""

    def __init__(self, router: Router, *, reads_on_loop: bool, threads: int) -> None:
        self.router = router
        self.app: ASGIApp = router.middleware_stack
        self.reads_on_loop = reads_on_loop
        #: Reads in threads at once. On PostgreSQL the pool's size: more would make the pool
        #: open overflow connections and close them on return. On SQLite one: every read is
        #: Python work in this process (rows, types, JSON) around short C calls that release
        #: the GIL, and each thread taking it back behind another waits up to the switch
        #: interval (5 ms); five threads answered a cheap list at 65 req/s under 8 connections
        #: where one connection alone got 290. `serve --workers N` is what uses more cores.
        self.reads_in_flight = CapacityLimiter(max(threads, 1))
        #: The route the router picks for each kind of path, found once.
        self._routes: dict[str, object] = {}
        #: List shapes that ran over the loop's budget, until when they skip the loop.
        self._slow_until: dict[tuple[str, frozenset[str]], float] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope.get("root_path"):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        scope.setdefault("router", self.router)
        listing = _LISTS.get(path)
        if listing is not None:
            request = self._admitted(scope, path)
            response = self._on_loop(listing, request, path) if self.reads_on_loop else None
            if response is None:
                response = await to_thread.run_sync(listing, request, limiter=self.reads_in_flight)
        elif (order_id := _order_id(path)) is not None:
            request = self._admitted(scope, _LOOKUP_PREFIX)
            scope["path_params"] = {"order_id": order_id}
            if self.reads_on_loop:
                response = orders.get_order(order_id, request)
            else:
                response = await to_thread.run_sync(
                    orders.get_order, order_id, request, limiter=self.reads_in_flight
                )
        else:
            await self.app(scope, receive, send)
            return
        await response(scope, receive, send)

    def _on_loop(
        self, listing: Callable[[Request], Response], request: Request, path: str
    ) -> Response | None:
        """The list answered on the event loop, or None when its SQL ran over the loop's
        budget (it is then asked again in a thread: a read, so nothing was changed)."""
        shape = (path, frozenset(request.query_params.keys()))
        if self._slow_until.get(shape, 0.0) > time.monotonic():
            return None
        try:
            with budget.within(LOOP_BUDGET_SECONDS):
                return listing(request)
        except Exception as exc:
            if budget.ran_over(exc):
                self._note_slow(shape)
                return None
            raise

    def _note_slow(self, shape: tuple[str, frozenset[str]]) -> None:
        """Send lists of this shape (path and parameter names) to threads for a while: a
        shape that ran over once likely runs over again, and each try costs its budget."""
        if len(self._slow_until) >= _MAX_SHAPES:
            self._slow_until.clear()
        self._slow_until[shape] = time.monotonic() + SLOW_SHAPE_SECONDS

    def _admitted(self, scope: Scope, kind: str) -> Request:
        """The request, its route noted in the scope, once its key holds the read scope."""
        route = self._routes.get(kind)
        if route is None:
            route = self._routes[kind] = matching_route(scope)
        scope["route"] = route
        request = Request(scope)
        key = current_key(request)
        if not key.allows(_NEEDED):
            raise MissingScope(_NEEDED, key.scopes)
        return request


def _order_id(path: str) -> str | None:
    """`/v1/orders/123`, `.json` or `.xml` -> "123..." as given; None for any other path (a
    non-numeric segment may be another route: it goes to the router)."""
    if not path.startswith(_LOOKUP_PREFIX):
        return None
    segment = path[len(_LOOKUP_PREFIX) :]
    digits = segment.removesuffix(".json").removesuffix(".xml")
    if not digits or not digits.isascii() or not digits.isdigit():
        return None
    return segment


def install(router: Router, *, reads_on_loop: bool, threads: int) -> None:
    """Put the dispatcher in front of the app's router: the router's own middleware stack is
    what the app's exception middleware calls, so errors raised here get the same handlers."""
    router.middleware_stack = FastReads(router, reads_on_loop=reads_on_loop, threads=threads)
