"""Who is signed in: the session cookie, roles, and CSRF on every unsafe web request
(docs/web-accounts.md).

Contract the pages rely on:
- `WebUser(id, email, role, csrf)`, with `scopes` (the API's scopes of the role), `can_write`,
  `is_admin`;
- route dependencies `signed_in` (any role), `staff` (a role that writes), `admin`;
- `optional_user(request)`, `csrf_token(request)`;
- every POST/PUT/PATCH/DELETE on a web path must carry the session's CSRF token as the form
  field `csrf_token` or the header `X-CSRF-Token` (htmx sends it: static/app.js); `install`
  checks it app-wide, before any route runs. /login has its own (services: a signed
  double-submit cookie, web/login.py).

The cookie holds a signed random token; the session itself (user, role, CSRF token, expiry) is
in the database (services/web_sessions.py), so a disabled user, a reset password, a changed
role or a sign-out takes effect at the next request.
"""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderhub.domain.clock import SYSTEM_CLOCK
from orderhub.services import web_sessions
from orderhub.services.users import ROLE_SCOPES, ROLES
from orderhub.services.web_sessions import COOKIE, WebUser
from orderhub.web.errors import error_page, is_web_path

__all__ = [
    "COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "ROLES",
    "ROLE_SCOPES",
    "WebUser",
    "admin",
    "csrf_token",
    "install",
    "optional_user",
    "set_cookie",
    "signed_in",
    "staff",
]

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Unsafe web paths checked by their own route instead (no session yet: web/login.py).
CSRF_OWN_CHECK = frozenset({"/login"})
_STATE = "orderhub_web_user"


class SignInRequired(HTTPException):
    """No session: the page answers with a redirect to /login."""

    def __init__(self, next_path: str) -> None:
        where = f"/login?{urlencode({'next': next_path})}"
        super().__init__(303, "Sign in first", headers={"Location": where})


def optional_user(request: Request) -> WebUser | None:
    """The signed-in user of this request (resolved once per request); None if none."""
    state = request.scope.setdefault("state", {})
    if _STATE not in state:
        state[_STATE] = _resolve(request.app, request.cookies.get(COOKIE))
    user = state[_STATE]
    return user if isinstance(user, WebUser) else None


def _resolve(app: Any, cookie: str | None) -> WebUser | None:
    if not cookie:
        return None
    clock = getattr(app.state, "clock", SYSTEM_CLOCK)
    return web_sessions.resolve(app.state.engine, cookie, clock)


def csrf_token(request: Request) -> str:
    user = optional_user(request)
    return user.csrf if user is not None else ""


def is_https(request: Request) -> bool:
    """Whether the browser reached the hub over HTTPS: the request's own scheme, which
    uvicorn sets from X-Forwarded-Proto for the proxies it trusts (--forwarded-allow-ips)."""
    return request.url.scheme == "https"


def set_cookie(response: Response, request: Request, name: str, value: str, **extra: Any) -> None:
    """A cookie as every cookie of the web UI is: HttpOnly, SameSite=Lax, Path=/, and Secure
    when the page was served over HTTPS."""
    response.set_cookie(
        name, value, httponly=True, samesite="lax", secure=is_https(request), path="/", **extra
    )


def _signed_in(request: Request) -> WebUser:
    user = optional_user(request)
    if user is None:
        query = request.url.query
        raise SignInRequired(request.url.path + (f"?{query}" if query else ""))
    return user


def _staff(user: WebUser = Depends(_signed_in)) -> WebUser:
    if not user.can_write:
        raise HTTPException(403, "Your role can look but not change anything.")
    return user


def _admin(user: WebUser = Depends(_signed_in)) -> WebUser:
    if not user.is_admin:
        raise HTTPException(403, "Only an admin can open the admin pages.")
    return user


signed_in = Depends(_signed_in)
staff = Depends(_staff)
admin = Depends(_admin)


class CsrfMiddleware:
    """Refuses (a 403 page, before any route runs) an unsafe web request whose CSRF token is
    not its session's."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_web_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        if scope["method"] not in UNSAFE or scope["path"] in CSRF_OWN_CHECK:
            await self.app(scope, receive, send)  # the session is resolved when first asked
            return
        request = Request(scope, receive)
        user = await run_in_threadpool(_resolve, request.app, request.cookies.get(COOKIE))
        scope.setdefault("state", {})[_STATE] = user
        if user is None and scope["path"] == "/logout":  # signing out of no session: harmless
            await self.app(scope, receive, send)
            return
        presented, replay = await _presented_token(request)
        if user is None or not _same(presented, user.csrf):
            refusal = HTTPException(
                403,
                "The form was out of date or not sent from this site (its security token did "
                "not match your session). Go back, reload the page and try again.",
            )
            await error_page(request, refusal)(scope, receive, send)
            return
        await self.app(scope, replay, send)


def _same(presented: str, expected: str) -> bool:
    return bool(presented) and hmac.compare_digest(presented.encode(), expected.encode())


async def _presented_token(request: Request) -> tuple[str, Receive]:
    """The token of the header or the form field, and a `receive` that gives the route the
    body again (read here to find the field)."""
    header = request.headers.get(CSRF_HEADER, "")
    body = await request.body()
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await request.receive()

    if header:
        return header, replay
    kind = request.headers.get("content-type", "")
    form: FormData | None = None
    if kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
    value = form.get(CSRF_FIELD) if form is not None else None
    return (value if isinstance(value, str) else ""), replay


def install(app: FastAPI) -> None:
    """Check the CSRF token of every unsafe web request."""
    app.add_middleware(CsrfMiddleware)
