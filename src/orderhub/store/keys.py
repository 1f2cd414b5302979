"""API keys and their daily usage counters: the only place that reads and writes them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    ForeignKey,
    RowMapping,
    Table,
    and_,
    bindparam,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import Executable

from orderhub.store.repository import Repository, from_row
from orderhub.store.tables import id_table, metadata
from orderhub.store.types import Str, UTCDateTime

api_keys = id_table(
    "api_keys",
    Column("name", Str(64), nullable=False, unique=True),
    # The key's public id: how a presented key is found (unique, so indexed).
    Column("prefix", Str(32), nullable=False, unique=True),
    # sha256 (hex) of the secret part; the key itself is never stored.
    Column("hash", Str(64), nullable=False),
    # Comma-separated scope names.
    Column("scopes", Str(255), nullable=False),
    Column("daily_limit", BigInteger),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
)

key_usage = Table(
    "key_usage",
    metadata,
    Column(
        "key_id",
        BigInteger,
        ForeignKey("api_keys.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    # The UTC day the requests were counted on.
    Column("day", Date, primary_key=True),
    Column("count", BigInteger, nullable=False),
)


@dataclass(frozen=True, slots=True)
class StoredKey:
    """One API key as stored (its hash, never the key)."""

    id: int
    name: str
    prefix: str
    hash: str
    scopes: frozenset[str]
    daily_limit: int | None
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class KeyWithUsage:
    key: StoredKey
    used_today: int
    #: The last UTC day the key was used on (requests are counted per day, not timed).
    last_used: date | None = None


_KEY_COLUMNS = [
    api_keys.c.id,
    api_keys.c.name,
    api_keys.c.prefix,
    api_keys.c.hash,
    api_keys.c.scopes,
    api_keys.c.daily_limit,
    api_keys.c.created_at,
    api_keys.c.revoked_at,
]
_BY_PREFIX = select(*_KEY_COLUMNS).where(api_keys.c.prefix == bindparam("prefix"))
_CONFLICT: dict[str, Any] = {
    "index_elements": [key_usage.c.key_id, key_usage.c.day],
    "set_": {"count": key_usage.c.count + 1},
}
#: INSERT ... ON CONFLICT DO UPDATE SET count = count + 1 RETURNING count: one atomic step,
#: so concurrent requests (in any number of processes) each see a distinct count.
_COUNT: dict[str, Executable] = {
    "postgresql": postgresql.insert(key_usage)
    .values(count=1)
    .on_conflict_do_update(**_CONFLICT)
    .returning(key_usage.c.count),
    "sqlite": sqlite.insert(key_usage)
    .values(count=1)
    .on_conflict_do_update(**_CONFLICT)
    .returning(key_usage.c.count),
}


def _add_usage(dialect: Any) -> Executable:
    """INSERT ... SELECT (only keys that still exist) ON CONFLICT: count = count + :n."""
    existing = select(
        api_keys.c.id, bindparam("day", type_=Date()), bindparam("n", type_=BigInteger())
    ).where(api_keys.c.id == bindparam("key_id"), api_keys.c.prefix == bindparam("prefix"))
    stmt = dialect.insert(key_usage).from_select(["key_id", "day", "count"], existing)
    return stmt.on_conflict_do_update(
        index_elements=[key_usage.c.key_id, key_usage.c.day],
        set_={"count": key_usage.c.count + stmt.excluded.count},
    )


_ADD_USAGE: dict[str, Executable] = {
    "postgresql": _add_usage(postgresql),
    "sqlite": _add_usage(sqlite),
}


class KeyRepository(Repository):
    def insert(
        self,
        *,
        name: str,
        prefix: str,
        hash: str,
        scopes: Sequence[str],
        daily_limit: int | None,
        created_at: datetime,
    ) -> int:
        values = {
            "name": name,
            "prefix": prefix,
            "hash": hash,
            "scopes": ",".join(scopes),
            "daily_limit": daily_limit,
            "created_at": created_at,
        }
        result = self.conn.execute(api_keys.insert().values(values).returning(api_keys.c.id))
        return int(result.scalar_one())

    def delete_named(self, name: str) -> bool:
        """Delete the key called `name` and its usage; True when there was one."""
        found = self.by_name(name)
        if found is None:
            return False
        self.conn.execute(delete(key_usage).where(key_usage.c.key_id == found.id))
        self.conn.execute(delete(api_keys).where(api_keys.c.id == found.id))
        return True

    def name_taken(self, name: str) -> bool:
        stmt = select(api_keys.c.id).where(api_keys.c.name == name)
        return self.conn.execute(stmt).first() is not None

    def by_prefix(self, prefix: str) -> StoredKey | None:
        return self._first(_BY_PREFIX, _stored, {"prefix": prefix})

    def by_name(self, name: str) -> StoredKey | None:
        return self._first(select(*_KEY_COLUMNS).where(api_keys.c.name == name), _stored)

    def revoke(self, key_id: int, at: datetime) -> None:
        self.conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(revoked_at=at))

    def count_request(self, key_id: int, day: date) -> int:
        """Count one request against the key's day; the day's count including this one."""
        stmt = _COUNT[self.conn.dialect.name]
        return int(self.conn.execute(stmt, {"key_id": key_id, "day": day}).scalar_one())

    def add_requests(self, counts: Mapping[tuple[int, str, date], int]) -> None:
        """Add counted requests in one batch: (key id, prefix, day) -> requests. A key deleted
        meanwhile is skipped (also when SQLite gave its id to a new key: the prefix differs)."""
        params = [
            {"key_id": key_id, "prefix": prefix, "day": day, "n": n}
            for (key_id, prefix, day), n in counts.items()
            if n > 0
        ]
        if params:
            self.conn.execute(_ADD_USAGE[self.conn.dialect.name], params)

    def list_with_usage(self, day: date) -> list[KeyWithUsage]:
        joined = api_keys.outerjoin(
            key_usage, and_(key_usage.c.key_id == api_keys.c.id, key_usage.c.day == day)
        )
        days = key_usage.alias("days")  # not the joined key_usage (today's): every day
        last = (
            select(func.max(days.c.day))
            .where(days.c.key_id == api_keys.c.id, days.c.count > 0)
            .scalar_subquery()
        )
        stmt = select(
            *_KEY_COLUMNS, key_usage.c.count.label("used"), last.label("last_used")
        ).select_from(joined)
        stmt = stmt.order_by(api_keys.c.name)
        return self._all(
            stmt,
            lambda row: KeyWithUsage(_stored(row), int(row["used"] or 0), row["last_used"]),
        )


def _stored(mapping: RowMapping) -> StoredKey:
    scopes = frozenset(s for s in mapping["scopes"].split(",") if s)
    return from_row(StoredKey, mapping, scopes=scopes)
