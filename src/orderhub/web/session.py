"""Who is signed in: the session cookie, roles, and CSRF on every unsafe web request.

Contract the pages rely on (keep it):
- `WebUser(id, email, role)`, with `scopes` (the API's scopes of the role), `can_write`,
  `is_admin`;
- route dependencies `signed_in` (any role), `staff` (a role that writes), `admin`;
- `optional_user(request)`, `csrf_token(request)`;
- every POST/PUT/PATCH/DELETE on a web path must carry the session's CSRF token as the form
  field `csrf_token` or the header `X-CSRF-Token` (htmx sends it: static/app.js).

SKELETON: a signed cookie only; the users table, server-side sessions, expiry, throttling and
disabled users come with the staff-accounts work.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import Depends, FastAPI, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.exceptions import HTTPException

from orderhub.services.keys import ADMIN, READ, WRITE

Role = Literal["admin", "staff", "viewer"]
ROLES: tuple[Role, ...] = ("admin", "staff", "viewer")
ROLE_SCOPES: dict[str, frozenset[str]] = {
    "viewer": frozenset({READ}),
    "staff": frozenset({READ, WRITE}),
    "admin": frozenset({READ, WRITE, ADMIN}),
}
COOKIE = "orderhub_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_STATE = "orderhub_web_user"
_SECRET = secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class WebUser:
    id: int
    email: str
    role: str
    csrf: str = ""

    @property
    def scopes(self) -> frozenset[str]:
        return ROLE_SCOPES[self.role]

    @property
    def can_write(self) -> bool:
        return WRITE in self.scopes

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.scopes


class SignInRequired(HTTPException):
    """No session: the page answers with a redirect to /login."""

    def __init__(self, next_path: str) -> None:
        super().__init__(303, "Sign in first", headers={"Location": f"/login?next={next_path}"})


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_SECRET, salt="orderhub-session")


def session_cookie(user: WebUser) -> str:
    """The cookie value that signs `user` in (tests and /login)."""
    return _serializer().dumps(
        {"id": user.id, "email": user.email, "role": user.role, "csrf": user.csrf}
    )


def optional_user(request: Request) -> WebUser | None:
    cached = request.scope.get("state", {}).get(_STATE)
    if isinstance(cached, WebUser):
        return cached
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data: dict[str, Any] = _serializer().loads(raw, max_age=12 * 3600)
    except BadSignature:
        return None
    user = WebUser(int(data["id"]), str(data["email"]), str(data["role"]), str(data["csrf"]))
    request.scope.setdefault("state", {})[_STATE] = user
    return user


def csrf_token(request: Request) -> str:
    user = optional_user(request)
    return user.csrf if user is not None else ""


def _signed_in(request: Request) -> WebUser:
    user = optional_user(request)
    if user is None:
        raise SignInRequired(request.url.path)
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


def install(app: FastAPI) -> None:
    """SKELETON: nothing app-wide yet (the CSRF check of unsafe requests comes here)."""
