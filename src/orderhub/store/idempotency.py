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

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
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


class IdempotencyRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def insert(
        self,
        api_key_id: int,
        key: str,
        fingerprint: str,
        *,
        owner: str,
        at: datetime,
        lease_until: datetime,
    ) -> bool:
        """Claim a key nobody holds (INSERT ... ON CONFLICT DO NOTHING); False when the row
        exists. Of concurrent claims in any number of processes exactly one wins."""
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(idempotency_keys).values(
            api_key_id=api_key_id,
            key=key,
            fingerprint=fingerprint,
            owner=owner,
            lease_until=lease_until,
            created_at=at,
        )
        stmt = stmt.on_conflict_do_nothing(index_elements=["api_key_id", "key"])
        returning = stmt.returning(idempotency_keys.c.key)
        return self.conn.execute(returning).first() is not None

    def get(self, api_key_id: int, key: str) -> StoredRequest | None:
        stmt = select(
            idempotency_keys.c.fingerprint,
            idempotency_keys.c.owner,
            idempotency_keys.c.lease_until,
            idempotency_keys.c.status,
            idempotency_keys.c.headers,
            idempotency_keys.c.body,
            idempotency_keys.c.created_at,
        ).where(_row(api_key_id, key))
        row = self.conn.execute(stmt).first()
        return None if row is None else StoredRequest(**row._mapping)

    def take_over(
        self,
        api_key_id: int,
        key: str,
        seen: StoredRequest,
        fingerprint: str,
        *,
        owner: str,
        at: datetime,
        lease_until: datetime,
    ) -> bool:
        """Claim a row that is still as `seen` (an expired answer, a lapsed claim) as if it
        were new; False when another request changed it first."""
        result = self.conn.execute(
            update(idempotency_keys)
            .where(
                _row(api_key_id, key),
                idempotency_keys.c.created_at == seen.created_at,
                idempotency_keys.c.owner.is_not_distinct_from(seen.owner),
            )
            .values(
                fingerprint=fingerprint,
                owner=owner,
                lease_until=lease_until,
                status=None,
                headers=None,
                body=None,
                created_at=at,
            )
        )
        return result.rowcount == 1

    def finish(
        self, api_key_id: int, key: str, owner: str, *, status: int, headers: str, body: bytes
    ) -> bool:
        """Store `owner`'s answer; False (nothing changed) if its claim was taken over."""
        result = self.conn.execute(
            update(idempotency_keys)
            .where(_row(api_key_id, key), idempotency_keys.c.owner == owner)
            .values(owner=None, lease_until=None, status=status, headers=headers, body=body)
        )
        return result.rowcount == 1

    def release(self, api_key_id: int, key: str, owner: str) -> bool:
        """Forget `owner`'s claim (its answer is not kept); False if it was taken over."""
        result = self.conn.execute(
            delete(idempotency_keys).where(_row(api_key_id, key), idempotency_keys.c.owner == owner)
        )
        return result.rowcount == 1

    def purge(self, created_before: datetime) -> int:
        """Delete the rows first used before `created_before`; how many."""
        stmt = delete(idempotency_keys).where(idempotency_keys.c.created_at < created_before)
        return int(self.conn.execute(stmt).rowcount)


def _row(api_key_id: int, key: str) -> ColumnElement[bool]:
    return and_(idempotency_keys.c.api_key_id == api_key_id, idempotency_keys.c.key == key)
