"""Staff accounts of the web UI: create, list, change, disable, and sign in with throttling
(docs/web-accounts.md). Sessions are services/web_sessions.py.

Passwords are hashed with argon2id (argon2-cffi's defaults); a wrong e-mail costs the same
hash as a wrong password, so the time of an answer does not tell whether an account exists.

Throttling: after `FAILURE_LIMIT` wrong passwords within `FAILURE_WINDOW` for one account, or
from one address, every further attempt for it is refused (without checking the password)
until the oldest of those failures is older than the window; each refused attempt is logged
(a warning naming the account and the address, never the password).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine

from orderhub.domain import Conflict, InvalidInput, NotFound, OrderhubError
from orderhub.domain.clock import SYSTEM_CLOCK, Clock
from orderhub.services.keys import ADMIN, READ, WRITE
from orderhub.store import UnitOfWork
from orderhub.store.users import StoredUser, UserRepository

log = logging.getLogger(__name__)

ROLES = ("admin", "staff", "viewer")
#: The API's scopes each role holds (a session cookie on GET /v1 is admitted with these).
ROLE_SCOPES: dict[str, frozenset[str]] = {
    "viewer": frozenset({READ}),
    "staff": frozenset({READ, WRITE}),
    "admin": frozenset({READ, WRITE, ADMIN}),
}
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
FAILURE_LIMIT = 5
FAILURE_WINDOW = timedelta(minutes=15)

_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")
#: argon2id with argon2-cffi's default cost (RFC 9106's low-memory profile); tests swap in a
#: cheaper one (tests/web_support.py).
HASHER = PasswordHasher()


class UserNotFound(NotFound):
    def __init__(self, email: str) -> None:
        super().__init__(f"there is no user with the e-mail {email!r}")


class WrongPassword(OrderhubError):
    """A wrong e-mail or password (which of the two is not said)."""

    status_code = 401
    title = "Unauthorized"

    def __init__(self) -> None:
        super().__init__("wrong e-mail or password")


class TooManyFailures(OrderhubError):
    """Sign-in refused for a while after too many wrong passwords."""

    status_code = 429
    title = "Too many requests"

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        minutes = max(1, -(-retry_after // 60))
        super().__init__(
            f"too many wrong passwords: try again in {minutes} minute{'s' * (minutes != 1)}"
        )


@dataclass(frozen=True, slots=True)
class User:
    """An account as the pages and the CLI show it (never its password hash)."""

    id: int
    email: str
    role: str
    created_at: datetime
    disabled_at: datetime | None
    password_changed_at: datetime

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None


def _public(stored: StoredUser) -> User:
    return User(
        stored.id,
        stored.email,
        stored.role,
        stored.created_at,
        stored.disabled_at,
        stored.password_changed_at,
    )


def normal_email(email: str) -> str:
    """The e-mail as stored: trimmed and lower-cased; a malformed one is a 400."""
    text = email.strip().lower()
    if len(text) > 254 or not _EMAIL.fullmatch(text):
        raise InvalidInput("email", "an e-mail address such as ana@example.com", email)
    return text


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput("role", " or ".join(ROLES), role)
    return role


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput("password", f"at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput("password", f"at most {MAX_PASSWORD} characters")
    return password


def create_user(
    engine: Engine, email: str, role: str, password: str, clock: Clock = SYSTEM_CLOCK
) -> User:
    """A new account; a taken e-mail is a Conflict, a bad e-mail, role or password a 400."""
    email, role = normal_email(email), check_role(role)
    hashed = HASHER.hash(check_password(password))
    with UnitOfWork(engine) as uow:
        stored = UserRepository(uow.conn).create(email, role, hashed, clock.now())
        if stored is None:
            raise Conflict(f"a user with the e-mail {email!r} exists")
    return _public(stored)


def list_users(engine: Engine) -> list[User]:
    """Every account, disabled ones too, by e-mail."""
    with engine.connect() as conn:
        return [_public(u) for u in UserRepository(conn).all()]


def get_user(engine: Engine, email: str) -> User:
    with engine.connect() as conn:
        return _public(_existing(UserRepository(conn), email))


def disable_user(engine: Engine, email: str, clock: Clock = SYSTEM_CLOCK) -> User:
    """Disable the account and end every session of it (already disabled: unchanged)."""
    with UnitOfWork(engine) as uow:
        users = UserRepository(uow.conn)
        found = _existing(users, email)
        if found.disabled_at is None:
            now = clock.now()
            users.change(found.id, now, disabled_at=now)
        users.end_sessions_of(found.id)
        return _public(_existing(users, email))


def enable_user(engine: Engine, email: str, clock: Clock = SYSTEM_CLOCK) -> User:
    with UnitOfWork(engine) as uow:
        users = UserRepository(uow.conn)
        found = _existing(users, email)
        users.change(found.id, clock.now(), disabled_at=None)
        return _public(_existing(users, email))


def reset_password(engine: Engine, email: str, password: str, clock: Clock = SYSTEM_CLOCK) -> User:
    """Set a new password and end every session of the account."""
    hashed = HASHER.hash(check_password(password))
    with UnitOfWork(engine) as uow:
        users = UserRepository(uow.conn)
        found = _existing(users, email)
        now = clock.now()
        users.change(found.id, now, password_hash=hashed, password_changed_at=now)
        users.end_sessions_of(found.id)
        users.forget_failures(found.email)
        return _public(_existing(users, email))


def change_role(engine: Engine, email: str, role: str, clock: Clock = SYSTEM_CLOCK) -> User:
    """The account's new role, in force from its sessions' next request."""
    check_role(role)
    with UnitOfWork(engine) as uow:
        users = UserRepository(uow.conn)
        found = _existing(users, email)
        users.change(found.id, clock.now(), role=role)
        return _public(_existing(users, email))


def authenticate(
    engine: Engine, email: str, password: str, address: str, clock: Clock = SYSTEM_CLOCK
) -> User:
    """The account the e-mail and password sign in; WrongPassword (which of the two is not
    said), a disabled account too; TooManyFailures while the account or address is throttled."""
    typed = email.strip().lower()[:254]
    address = address[:64]
    now = clock.now()
    with engine.connect() as conn:
        users = UserRepository(conn)
        retry_after = _throttled(users, typed, address, now)
        found = users.by_email(typed) if retry_after is None else None
    if retry_after is not None:
        log.warning(
            "sign-in refused (throttled after %d wrong passwords): account %r, address %s",
            FAILURE_LIMIT,
            typed,
            address,
        )
        raise TooManyFailures(retry_after)
    # Outside any transaction: the hash takes a while, and SQLite's writer would wait on it.
    if not _verifies(found.password_hash if found else _no_account_hash(HASHER), password):
        found = None
    with engine.begin() as conn:
        users = UserRepository(conn)
        if found is None or found.disabled_at is not None:
            users.record_failure(typed, address, now, since=now - FAILURE_WINDOW)
        else:
            users.forget_failures(typed)
            if HASHER.check_needs_rehash(found.password_hash):
                users.change(found.id, now, password_hash=HASHER.hash(password))
    if found is None or found.disabled_at is not None:
        log.info("wrong e-mail or password: account %r, address %s", typed, address)
        raise WrongPassword()
    return _public(found)


def _throttled(users: UserRepository, email: str, address: str, now: datetime) -> int | None:
    """Seconds until the account or the address may try again; None when it may now."""
    since = now - FAILURE_WINDOW
    waits = []
    for latest in (
        users.nth_latest_failure(since=since, n=FAILURE_LIMIT, email=email),
        users.nth_latest_failure(since=since, n=FAILURE_LIMIT, address=address),
    ):
        if latest is not None:
            waits.append(int((latest + FAILURE_WINDOW - now).total_seconds()) + 1)
    return max(waits) if waits else None


@cache
def _no_account_hash(hasher: PasswordHasher) -> str:
    """Verified against when the e-mail has no account, so both cost one hash."""
    return hasher.hash("no account has this password")


def _verifies(hashed: str, password: str) -> bool:
    try:
        return bool(HASHER.verify(hashed, password[:MAX_PASSWORD]))
    except (VerificationError, InvalidHashError):
        return False


def _existing(users: UserRepository, email: str) -> StoredUser:
    found = users.by_email(email.strip().lower())
    if found is None:
        raise UserNotFound(email)
    return found
