"""/login and /logout (docs/web-accounts.md).

Before there is a session, the sign-in form has a CSRF token of its own: a random value in the
form and, signed, in a cookie (double submit); a post whose two do not match is refused.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, RedirectResponse, Response

from orderhub.domain.clock import SYSTEM_CLOCK
from orderhub.services import web_sessions
from orderhub.services.users import TooManyFailures, WrongPassword, authenticate
from orderhub.web.session import COOKIE, CSRF_FIELD, optional_user, set_cookie
from orderhub.web.templating import page

router = APIRouter(include_in_schema=False)

LOGIN_COOKIE = "orderhub_login"
_PURPOSE = "orderhub sign-in form"
SIGNED_OUT = "You have signed out."


def local_path(target: str | None) -> str:
    """`target` when it is a path on this site (`/orders?x=1`), else `/`: never another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target):
        return "/"
    return target


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/", signed_out: bool = False) -> Response:
    if optional_user(request) is not None:
        return RedirectResponse(local_path(next), status_code=303)
    return _form(request, next, notice=SIGNED_OUT if signed_out else "")


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    email: str = Form(""),
    password: str = Form(""),
    csrf_token: str = Form("", alias=CSRF_FIELD),
    next: str = Form("/"),
) -> Response:
    engine = request.app.state.engine
    expected = web_sessions.unsign(engine, request.cookies.get(LOGIN_COOKIE, ""), _PURPOSE)
    if not expected or not secrets.compare_digest(expected.encode(), csrf_token.encode()):
        raise HTTPException(
            403, "The sign-in form was out of date. Reload the page and sign in again."
        )
    clock = getattr(request.app.state, "clock", SYSTEM_CLOCK)
    address = request.client.host if request.client else "unknown"
    try:
        user = await run_in_threadpool(authenticate, engine, email, password, address, clock)
    except WrongPassword as exc:
        return _form(request, next, email=email, error=str(exc), status=401)
    except TooManyFailures as exc:
        response = _form(request, next, email=email, error=str(exc), status=429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    opened = await run_in_threadpool(web_sessions.open_session, engine, user, clock)
    response = RedirectResponse(local_path(next), status_code=303)
    set_cookie(response, request, COOKIE, opened.cookie)
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    """End the session (the CSRF middleware has checked the form's token) and forget it."""
    web_sessions.close(request.app.state.engine, request.cookies.get(COOKIE))
    response = RedirectResponse("/login?signed_out=1", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def _form(
    request: Request,
    next: str,
    *,
    email: str = "",
    error: str = "",
    notice: str = "",
    status: int = 200,
) -> Response:
    """The sign-in page, with a new form token (in the form, and signed in a cookie)."""
    token = secrets.token_urlsafe(32)
    response = page(
        request,
        "login.html",
        status=status,
        title="Sign in",
        form_token=token,
        next=local_path(next),
        email=email,
        error=error,
        notice=notice,
    )
    signed = web_sessions.sign(request.app.state.engine, token, _PURPOSE)
    set_cookie(response, request, LOGIN_COOKIE, signed)
    return response
