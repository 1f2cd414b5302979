"""API keys on every /v1 request: authenticate, count the daily quota, check the route's scope.

- `ApiKeyMiddleware` (pure ASGI, so it sees every /v1 answer, errors and unknown paths
  included) authenticates the bearer key, counts the request (401 / 429 stop it there) and adds
  the `RateLimit-Policy` / `RateLimit` headers to whatever answer follows. Every key's requests
  are counted; only a key with a daily limit is refused (429). An unlimited key's requests are
  counted in memory and written once a second by a background task (`keys.UsageTally`).
- Routes declare the scopes they need in one line, `dependencies=[require(READ)]`; an app-wide
  dependency checks them (403). A /v1 route that declares nothing needs `admin`: fail closed.
- A GET or HEAD with no Authorization header but a web session's cookie is admitted with the
  scopes of the user's role, as `user:<email>` (no quota); never an unsafe method.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderhub.api.instruments import QUOTA_REJECTIONS
from orderhub.api.logs import note_key_name
from orderhub.api.problems import orderhub_problem
from orderhub.domain.clock import SYSTEM_CLOCK, Clock
from orderhub.services import keys, web_sessions
from orderhub.services.keys import (
    ADMIN,
    METRICS,
    READ,
    SCOPES,
    WRITE,
    Admission,
    ApiKey,
    InvalidApiKey,
    MissingScope,
    Quota,
    QuotaExceeded,
)

__all__ = [
    "ADMIN",
    "METRICS",
    "READ",
    "WRITE",
    "ApiKeyMiddleware",
    "current_key",
    "install",
    "require",
]

log = logging.getLogger(__name__)

REALM = 'Bearer realm="orderhub"'
POLICY = "daily"
WINDOW_SECONDS = 86_400
_STATE = "orderhub_api_key"
_ROUTE_SCOPES = "_orderhub_scopes"

#: Documents the scheme in OpenAPI (the "Authorize" button of /docs); checking is ours.
_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    bearerFormat="ohk_<id>_<secret>",
    description="An orderhub API key: `orderhub keys create --name NAME --scopes ...`.",
)


#: /v1 paths a channel calls with its account's own webhook secret instead of an API key.
_CHANNEL_SECRET_PATHS = re.compile(r"/v1/channels/[^/]+/webhook")


def guarded(path: str) -> bool:
    """Whether a path needs a key: /metrics and everything under /v1 (not /healthz, /docs,
    /openapi.json), except the inbound channel webhook, which checks its channel's secret."""
    if _CHANNEL_SECRET_PATHS.fullmatch(path):
        return False
    return path in ("/v1", "/metrics") or path.startswith("/v1/")


def require(*scopes: str) -> Any:
    """Declare the scopes a route needs: `dependencies=[require(READ)]`, or as a parameter
    default (`key: ApiKey = require(WRITE)`) to receive the admitted key."""
    return Depends(_ScopeMarker(frozenset(scopes)))


def current_key(request: Request) -> ApiKey:
    """The key the middleware admitted this request with."""
    key = request.scope.get("state", {}).get(_STATE)
    if not isinstance(key, ApiKey):
        raise InvalidApiKey("a valid API key is required", presented=False)
    return key


class _ScopeMarker:
    """The dependency `require` returns: its scopes are read by `_check_scopes`."""

    def __init__(self, scopes: frozenset[str]) -> None:
        unknown = scopes - set(SCOPES)
        if not scopes or unknown:
            raise ValueError(f"require(): scopes must be some of {SCOPES}, got {sorted(scopes)}")
        self.scopes = scopes

    async def __call__(
        self, request: Request, _: HTTPAuthorizationCredentials | None = Depends(_bearer)
    ) -> ApiKey:
        # `_check_scopes` has checked the route's scopes; checking again here keeps a route
        # safe even on a router included before `install` ran.
        key = current_key(request)
        if not key.allows(self.scopes):
            raise MissingScope(self.scopes, key.scopes)
        return key


async def _check_scopes(request: Request) -> None:
    """App-wide dependency: the admitted key must hold every scope the route declares."""
    if not guarded(request.scope["path"]):
        return
    needed = _route_scopes(request.scope.get("route"))
    key = current_key(request)
    if not key.allows(needed):
        raise MissingScope(needed, key.scopes)


def _route_scopes(route: object) -> frozenset[str]:
    cached = getattr(route, _ROUTE_SCOPES, None)
    if isinstance(cached, frozenset):
        return cached
    dependant = getattr(route, "dependant", None)
    calls = [dep.call for dep in getattr(dependant, "dependencies", [])]
    declared = frozenset().union(*(c.scopes for c in calls if isinstance(c, _ScopeMarker)))
    scopes = declared or frozenset({ADMIN})
    if route is not None:
        vars(route)[_ROUTE_SCOPES] = scopes
    return scopes


class ApiKeyMiddleware:
    """Admits /v1 requests (401, 429) and puts the RateLimit headers on every /v1 answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not guarded(scope["path"]):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        clock: Clock = getattr(request.app.state, "clock", SYSTEM_CLOCK)
        by_cookie = await _session_key(request, clock)
        if by_cookie is not None:  # a signed-in browser reading: no quota, not counted
            note_key_name(by_cookie.name)
            scope.setdefault("state", {})[_STATE] = by_cookie
            await self.app(scope, receive, send)
            return
        try:
            admission = await _admit(request, clock)
        except InvalidApiKey as exc:
            await orderhub_problem(request, exc, _challenge(exc))(scope, receive, send)
            return
        note_key_name(admission.key.name)  # for the access log line
        quota = admission.quota
        if quota is not None and quota.exceeded:
            QUOTA_REJECTIONS.labels(key=admission.key.name).inc()
            headers = {**rate_limit_headers(quota), "Retry-After": str(quota.reset_seconds)}
            await orderhub_problem(request, QuotaExceeded(quota), headers)(scope, receive, send)
            return
        scope.setdefault("state", {})[_STATE] = admission.key
        if quota is None:
            request.app.state.key_usage.add(admission.key, clock.now())
            await self.app(scope, receive, send)
            return
        extra = [(k.lower().encode(), v.encode()) for k, v in rate_limit_headers(quota).items()]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def rate_limit_headers(quota: Quota) -> dict[str, str]:
    """draft-ietf-httpapi-ratelimit-headers: the policy and what is left of it."""
    return {
        "RateLimit-Policy": f'"{POLICY}";q={quota.limit};w={WINDOW_SECONDS}',
        "RateLimit": f'"{POLICY}";r={quota.remaining};t={quota.reset_seconds}',
    }


async def _admit(request: Request, clock: Clock) -> Admission:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise InvalidApiKey(
            "a valid API key is required: send Authorization: Bearer <key>", presented=False
        )
    cached = keys.recently_admitted(token, clock)
    if cached is not None:
        return cached
    return await run_in_threadpool(keys.admit, request.app.state.engine, token, None, clock)


async def _session_key(request: Request, clock: Clock) -> ApiKey | None:
    """A GET or HEAD without an Authorization header but with a web session's cookie reads
    with the scopes of the session's role (the web UI's "open in the JSON API" and export
    links); an unsafe method never does: writing through the API needs a key."""
    cookie = request.cookies.get(web_sessions.COOKIE)
    if request.method not in ("GET", "HEAD") or "authorization" in request.headers or not cookie:
        return None
    engine = request.app.state.engine
    session = await run_in_threadpool(web_sessions.resolve, engine, cookie, clock)
    if session is None:
        return None
    return ApiKey(0, f"user:{session.email}", session.scopes, public_id="")


def _challenge(exc: InvalidApiKey) -> dict[str, str]:
    """RFC 6750's WWW-Authenticate: `invalid_token` only when a token was presented."""
    if not exc.presented:
        return {"WWW-Authenticate": REALM}
    return {"WWW-Authenticate": f'{REALM}, error="invalid_token", error_description="{exc}"'}


def install(app: FastAPI) -> None:
    """Guard every /v1 route; call before any router is included (dependencies are copied)."""
    app.router.dependencies.append(Depends(_check_scopes))
    app.add_middleware(ApiKeyMiddleware)
    app.state.key_usage = keys.UsageTally()
    _write_usage_while_serving(app)


def _write_usage_while_serving(app: FastAPI) -> None:
    """While the server runs, write the unlimited keys' requests every second, and once more
    when it stops (wraps whatever lifespan the app has)."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(server_app: Any) -> AsyncIterator[Any]:
        stop = asyncio.Event()
        writer = asyncio.create_task(_write_usage_every_second(app, stop))
        try:
            async with inner(server_app) as state:
                yield state
        finally:
            # Not cancelled: a write under way runs in a thread that a cancel would orphan
            # (the process could exit before it commits); the writer's last round follows.
            stop.set()
            await writer

    app.router.lifespan_context = lifespan


async def _write_usage_every_second(app: FastAPI, stop: asyncio.Event) -> None:
    """Write the counts every second until `stop`, then once more."""
    while not stop.is_set():
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), keys.USAGE_FLUSH_SECONDS)
        await _write_usage(app)


async def _write_usage(app: FastAPI) -> None:
    tally: keys.UsageTally = app.state.key_usage
    if not tally.pending:
        return
    try:
        await run_in_threadpool(tally.flush, app.state.engine)
    except Exception:  # the counts wait for the next try; serving goes on
        log.exception("could not write the API keys' request counts; will retry")
