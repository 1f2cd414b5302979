"""Web sessions of staff accounts (docs/web-accounts.md): opened at sign-in, resolved on every
request, ended by sign-out, by expiry, or when the account is disabled or its password reset.

The browser holds a random token, signed (itsdangerous, with a key derived from the secrets'
keys, store/secrets.py, so every server process agrees); the database holds only its sha256.
A session ends after `IDLE` without a request or `ABSOLUTE` after sign-in, whichever is first.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadSignature, Signer
from sqlalchemy import Engine

from orderhub.domain.clock import SYSTEM_CLOCK, Clock
from orderhub.services.keys import ADMIN, WRITE
from orderhub.services.users import ROLE_SCOPES, User
from orderhub.store.secrets import signing_keys
from orderhub.store.users import UserRepository

COOKIE = "orderhub_session"
IDLE = timedelta(hours=12)
ABSOLUTE = timedelta(days=7)
#: last_seen_at is written at most this often (not on every request).
TOUCH_EVERY = timedelta(minutes=1)
_PURPOSE = "orderhub web session cookie"


@dataclass(frozen=True, slots=True)
class WebUser:
    """Who a session is: the user, their role, and the CSRF token its forms must carry."""

    id: int
    email: str
    role: str
    csrf: str = ""

    @property
    def scopes(self) -> frozenset[str]:
        """The API's scopes of the role."""
        return ROLE_SCOPES[self.role]

    @property
    def can_write(self) -> bool:
        return WRITE in self.scopes

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.scopes


@dataclass(frozen=True, slots=True)
class Opened:
    user: WebUser
    #: The cookie's value (the signed token): given to the browser, never stored.
    cookie: str


def open_session(engine: Engine, user: User, clock: Clock = SYSTEM_CLOCK) -> Opened:
    """A new session for `user` (who has just signed in)."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = clock.now()
    with engine.begin() as conn:
        sessions = UserRepository(conn)
        sessions.end_stale_sessions(user.id, at=now, idle_since=now - IDLE)
        sessions.open_session(_digest(token), user.id, csrf, now, now + ABSOLUTE)
    return Opened(WebUser(user.id, user.email, user.role, csrf), sign(engine, token, _PURPOSE))


def resolve(engine: Engine, cookie: str | None, clock: Clock = SYSTEM_CLOCK) -> WebUser | None:
    """The session the cookie holds; None when it is not one (any more): a bad signature,
    signed out, expired, or its user disabled (the session is then ended)."""
    token = _token(engine, cookie)
    if token is None:
        return None
    session_id = _digest(token)
    with engine.connect() as conn:
        row = UserRepository(conn).session(session_id)
    if row is None:
        return None
    now = clock.now()
    if row.disabled_at is not None or now >= row.expires_at or now >= row.last_seen_at + IDLE:
        with engine.begin() as conn:
            UserRepository(conn).end_session(session_id)
        return None
    if now >= row.last_seen_at + TOUCH_EVERY:
        with engine.begin() as conn:
            UserRepository(conn).touch_session(session_id, now)
    return WebUser(row.user_id, row.email, row.role, row.csrf)


def close(engine: Engine, cookie: str | None) -> bool:
    """End the session the cookie holds (sign-out); False when there was none."""
    token = _token(engine, cookie)
    if token is None:
        return False
    with engine.begin() as conn:
        return UserRepository(conn).end_session(_digest(token))


def _token(engine: Engine, cookie: str | None) -> str | None:
    return unsign(engine, cookie, _PURPOSE) if cookie else None


def sign(engine: Engine, value: str, purpose: str) -> str:
    """`value` signed for `purpose` (the sign-in form's CSRF cookie)."""
    return Signer(signing_keys(engine, purpose)).sign(value).decode()


def unsign(engine: Engine, signed: str, purpose: str) -> str | None:
    try:
        return Signer(signing_keys(engine, purpose)).unsign(signed).decode()
    except BadSignature:
        return None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
