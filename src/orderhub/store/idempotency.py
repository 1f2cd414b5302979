"""Idempotency keys: one row per (API key, Idempotency-Key), the only place that reads and
writes them (the rules are services/idempotency.py's, the HTTP side api/idempotency.py's).

A row is claimed by an INSERT that only one transaction can win (the primary key), on SQLite
and PostgreSQL alike. While its request runs the row has an `owner` (the claim's random token)
and a `lease_until`; once the answer is stored `status`, `headers` and `body` hold it and
`owner` is null. Every change after the claim names the owner, so a request whose claim was
taken over (its lease ran out) changes nothing. Every time compared or stamped here is the
caller's (its clock), never the database's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Table,
    Text,
    and_,
    delete,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from orderhub.store.secrets import seal_bytes, unseal_bytes
from orderhub.store.tables import metadata
from orderhub.store.types import Str, UTCDateTime

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    # The API key the request was admitted with: a key's namespace is its own.
    Column(
        "api_key_id",
        BigInteger,
        ForeignKey("api_keys.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("key", Str(255), primary_key=True),
    # sha256 (hex) of the method, path, query string and body: "the same request".
    Column("fingerprint", Str(64), nullable=False),
    # While the request runs: the claim's token and when a crashed claim lapses; null after.
    Column("owner", Str(32)),
    Column("lease_until", UTCDateTime),
    # The stored answer: null while the request runs.
    Column("status", Integer),
    Column("headers", Text),  # a JSON object of the headers replayed with the body
    Column("body", LargeBinary),
    # When the key was first used: its answer is replayed for 24 hours from then.
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "created_at"),
)


@dataclass(frozen=True, slots=True)
class StoredRequest:
    """One row: a request running under `owner`, or its answer (`status` is not None)."""

    fingerprint: str
    owner: str | None
    lease_until: datetime | None
    status: int | None
    headers: str | None
    body: bytes | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewClaim:
    """A request taking a key: what makes it that request, its token, when, until when."""

    fingerprint: str
    owner: str
    at: datetime
    lease_until: datetime

    def columns(self) -> dict[str, object]:
        """The row of a running request: no answer yet, first used now."""
        return {
            "fingerprint": self.fingerprint,
            "owner": self.owner,
            "lease_until": self.lease_until,
            "status": None,
            "headers": None,
            "body": None,
            "created_at": self.at,
        }


class IdempotencyRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @classmethod
    @contextmanager
    def transaction(cls, engine: Engine) -> Iterator[IdempotencyRepository]:
        """The repository in a transaction of its own, committed on a clean exit.

        On PostgreSQL the commit does not wait for the disk (`synchronous_commit = off`, this
        transaction only): a server crash may forget its last fraction of a second of claims
        and answers, which leaves what a killed request leaves (a retry runs again once the
        lease is over, docs/idempotency.md), and a claim costs no disk flush of its own.
        SQLite's WAL with synchronous=NORMAL already commits that way (store/engine.py).
        """
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            yield cls(conn)

    def insert(self, api_key_id: int, key: str, claim: NewClaim) -> bool:
        """Claim a key nobody holds (INSERT ... ON CONFLICT DO NOTHING); False when the row
        exists. Of concurrent claims in any number of processes exactly one wins."""
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        values = {"api_key_id": api_key_id, "key": key, **claim.columns()}
        stmt = dialect.insert(idempotency_keys).values(values).on_conflict_do_nothing()
        return self.conn.execute(stmt.returning(idempotency_keys.c.key)).first() is not None

    def get(self, api_key_id: int, key: str) -> StoredRequest | None:
        stmt = select(*(idempotency_keys.c[field.name] for field in fields(StoredRequest)))
        row = self.conn.execute(stmt.where(_row(api_key_id, key))).first()
        if row is None:
            return None
        found = StoredRequest(**row._mapping)
        if found.body is None:
            return found
        return replace(found, body=unseal_bytes(self.conn, found.body))

    def take_over(self, api_key_id: int, key: str, seen: StoredRequest, claim: NewClaim) -> bool:
        """Claim a row that is still as `seen` (an expired answer, a lapsed claim) as if it
        were new; False when another request changed it first."""
        still_as_seen = and_(
            idempotency_keys.c.created_at == seen.created_at,
            idempotency_keys.c.owner.is_not_distinct_from(seen.owner),
        )
        stmt = update(idempotency_keys).where(_row(api_key_id, key), still_as_seen)
        return self.conn.execute(stmt.values(claim.columns())).rowcount == 1

    def finish(
        self, api_key_id: int, key: str, owner: str, *, status: int, headers: str, body: bytes
    ) -> bool:
        """Store `owner`'s answer; False (nothing changed) if its claim was taken over."""
        # Sealed: an answer may carry a secret (a new subscription's) or a customer's data.
        answer = {"status": status, "headers": headers, "body": seal_bytes(self.conn, body)}
        done = {"owner": None, "lease_until": None, **answer}
        stmt = update(idempotency_keys).where(_row(api_key_id, key, owner)).values(done)
        return self.conn.execute(stmt).rowcount == 1

    def release(self, api_key_id: int, key: str, owner: str) -> bool:
        """Forget `owner`'s claim (its answer is not kept); False if it was taken over."""
        stmt = delete(idempotency_keys).where(_row(api_key_id, key, owner))
        return self.conn.execute(stmt).rowcount == 1

    def purge(self, created_before: datetime) -> int:
        """Delete the rows first used before `created_before`; how many."""
        stmt = delete(idempotency_keys).where(idempotency_keys.c.created_at < created_before)
        return int(self.conn.execute(stmt).rowcount)


def _row(api_key_id: int, key: str, owner: str | None = None) -> ColumnElement[bool]:
    """The row of this key (held by `owner`, when given)."""
    row = and_(idempotency_keys.c.api_key_id == api_key_id, idempotency_keys.c.key == key)
    return row if owner is None else and_(row, idempotency_keys.c.owner == owner)
