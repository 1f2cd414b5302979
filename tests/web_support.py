"""Signing in to the web UI from tests: a real user (services/users.py) signed in through the
real sign-in form (`sign_in`) or with a real session opened by the service (`browser_cookie`)."""

from __future__ import annotations

import re
from typing import Any

from argon2 import PasswordHasher, profiles
from sqlalchemy import Engine

from orderhub.domain import NotFound
from orderhub.domain.clock import SYSTEM_CLOCK
from orderhub.services import users, web_sessions
from orderhub.web.session import COOKIE, WebUser

PASSWORD = "correct horse battery staple"
# Still argon2id, at the cost of its CHEAPEST profile: the default takes a second on a loaded box.
users.HASHER = PasswordHasher.from_parameters(profiles.CHEAPEST)
_FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def user_of(engine: Engine, role: str, email: str | None = None) -> users.User:
    """The user `email` (default `<role>@example.com`) with `role` and the tests' password,
    made if it is not there yet."""
    email = email or f"{role}@example.com"
    try:
        found = users.get_user(engine, email)
    except NotFound:
        return users.create_user(engine, email, role, PASSWORD)
    return found if found.role == role else users.change_role(engine, email, role)


def sign_in(http: Any, engine: Engine, role: str = "admin", email: str | None = None) -> WebUser:
    """Sign `http` (a TestClient or httpx client) in through /login as a user of `role`; returns
    the user, whose `csrf` every form post must carry."""
    user = user_of(engine, role, email)
    http.cookies.delete(COOKIE)  # a client signed in before signs in again
    form = http.get("/login", follow_redirects=False)
    assert form.status_code == 200, form.text
    token = _FORM_TOKEN.search(form.text)
    assert token is not None, "the sign-in form carries no csrf_token"
    answer = http.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    # The app's clock when it has one (a test's ManualClock), so the session is not "expired".
    clock = getattr(getattr(getattr(http, "app", None), "state", None), "clock", SYSTEM_CLOCK)
    session = web_sessions.resolve(engine, http.cookies.get(COOKIE), clock)
    assert session is not None, "signed in, but the cookie is no session"
    return WebUser(user.id, user.email, user.role, session.csrf)


def browser_cookie(base_url: str, engine: Engine, role: str = "admin") -> dict[str, Any]:
    """The cookie (Playwright's `context.add_cookies` shape) of a new session of `role`."""
    opened = web_sessions.open_session(engine, user_of(engine, role))
    return {"name": COOKIE, "value": opened.cookie, "url": base_url}
