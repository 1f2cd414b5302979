"""Staff accounts, their web sessions and failed sign-ins (services/users.py,
docs/web-accounts.md). Passwords are kept as argon2 hashes and sessions by the sha256 of
their token: neither the password nor the token is ever stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Table, or_, select

from orderhub.store.repository import Repository, from_row
from orderhub.store.tables import id_table, metadata
from orderhub.store.types import Id64, Str, UTCDateTime

users = id_table(
    "users",
    Column("email", Str(254), nullable=False, unique=True),  # lower-cased
    Column("role", Str(16), nullable=False),  # admin | staff | viewer
    Column("password_hash", Str(255), nullable=False),  # argon2id, PHC string
    Column("disabled_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("password_changed_at", UTCDateTime, nullable=False),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", Str(64), primary_key=True),  # sha256 (hex) of the cookie's token
    Column("user_id", Id64, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf", Str(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),  # the absolute end
    Index(None, "user_id"),
)

login_failures = id_table(
    "login_failures",
    Column("email", Str(254), nullable=False),  # as typed (lower-cased), an account or not
    Column("address", Str(64), nullable=False),  # the client's address
    Column("at", UTCDateTime, nullable=False),
    Index(None, "email", "at"),
    Index(None, "address", "at"),
)


@dataclass(frozen=True, slots=True)
class StoredUser:
    id: int
    email: str
    role: str
    password_hash: str
    disabled_at: datetime | None
    created_at: datetime
    updated_at: datetime
    password_changed_at: datetime


@dataclass(frozen=True, slots=True)
class SessionRow:
    """A session joined with its user: what a request is signed in as."""

    id: str
    csrf: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    user_id: int
    email: str
    role: str
    disabled_at: datetime | None


def _user(row: Any) -> StoredUser:
    return from_row(StoredUser, row)


class UserRepository(Repository):
    def create(self, email: str, role: str, password_hash: str, at: datetime) -> StoredUser | None:
        """The new user; None when the e-mail is taken (nothing written)."""
        stmt = (
            self._insert(users)
            .values(
                email=email,
                role=role,
                password_hash=password_hash,
                created_at=at,
                updated_at=at,
                password_changed_at=at,
            )
            .on_conflict_do_nothing(index_elements=["email"])
            .returning(*users.c)
        )
        return self._first(stmt, _user)

    def by_email(self, email: str) -> StoredUser | None:
        return self._first(select(users).where(users.c.email == email), _user)

    def all(self) -> list[StoredUser]:
        return self._all(select(users).order_by(users.c.email), _user)

    def change(self, user_id: int, at: datetime, **values: Any) -> None:
        self.conn.execute(
            users.update().where(users.c.id == user_id).values(updated_at=at, **values)
        )

    # Sessions

    def open_session(
        self, session_id: str, user_id: int, csrf: str, at: datetime, expires_at: datetime
    ) -> None:
        self.conn.execute(
            web_sessions.insert().values(
                id=session_id,
                user_id=user_id,
                csrf=csrf,
                created_at=at,
                last_seen_at=at,
                expires_at=expires_at,
            )
        )

    def session(self, session_id: str) -> SessionRow | None:
        stmt = (
            select(
                web_sessions,
                users.c.email,
                users.c.role,
                users.c.disabled_at,
            )
            .join(users, users.c.id == web_sessions.c.user_id)
            .where(web_sessions.c.id == session_id)
        )
        return self._first(stmt, lambda row: from_row(SessionRow, row))

    def touch_session(self, session_id: str, at: datetime) -> None:
        stmt = web_sessions.update().where(web_sessions.c.id == session_id)
        self.conn.execute(stmt.values(last_seen_at=at))

    def end_session(self, session_id: str) -> bool:
        stmt = web_sessions.delete().where(web_sessions.c.id == session_id)
        return self.conn.execute(stmt).rowcount == 1

    def end_stale_sessions(self, user_id: int, *, at: datetime, idle_since: datetime) -> None:
        """Forget the user's sessions that expired, or saw no request since `idle_since`
        (those whose cookie never came back)."""
        stale = or_(web_sessions.c.expires_at <= at, web_sessions.c.last_seen_at <= idle_since)
        self.conn.execute(web_sessions.delete().where(web_sessions.c.user_id == user_id, stale))

    def end_sessions_of(self, user_id: int) -> int:
        stmt = web_sessions.delete().where(web_sessions.c.user_id == user_id)
        return self.conn.execute(stmt).rowcount

    # Failed sign-ins

    def record_failure(self, email: str, address: str, at: datetime, since: datetime) -> None:
        """Note a wrong password, and forget this account's and address's older ones."""
        for column, value in ((login_failures.c.email, email), (login_failures.c.address, address)):
            stmt = login_failures.delete().where(column == value, login_failures.c.at < since)
            self.conn.execute(stmt)
        self.conn.execute(login_failures.insert().values(email=email, address=address, at=at))

    def nth_latest_failure(
        self, *, since: datetime, n: int, email: str | None = None, address: str | None = None
    ) -> datetime | None:
        """When the `n`th latest failure since `since` of the account (or address) was; None
        when there were fewer."""
        column = login_failures.c.email if email is not None else login_failures.c.address
        stmt = (
            select(login_failures.c.at)
            .where(column == (email if email is not None else address), login_failures.c.at > since)
            .order_by(login_failures.c.at.desc())
            .offset(n - 1)
            .limit(1)
        )
        return self.conn.execute(stmt).scalar_one_or_none()

    def forget_failures(self, email: str) -> None:
        self.conn.execute(login_failures.delete().where(login_failures.c.email == email))
