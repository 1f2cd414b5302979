"""Signing in to the web UI from tests. SKELETON: a session cookie made directly; the
staff-accounts work makes it a real user signed in through /login, keeping these names."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from orderhub.web.session import COOKIE, WebUser, session_cookie

CSRF = "test-csrf-token"


def sign_in(http: Any, engine: Engine, role: str = "admin", email: str | None = None) -> WebUser:
    """Sign `http` (a TestClient or httpx client) in as a new user of `role`; returns the user,
    whose `csrf` every form post must carry."""
    user = WebUser(1, email or f"{role}@example.com", role, CSRF)
    http.cookies.set(COOKIE, session_cookie(user))
    return user


def browser_cookie(base_url: str, engine: Engine, role: str = "admin") -> dict[str, Any]:
    """The cookie (Playwright's `context.add_cookies` shape) of a signed-in `role`."""
    user = WebUser(1, f"{role}@example.com", role, CSRF)
    return {"name": COOKIE, "value": session_cookie(user), "url": base_url}
