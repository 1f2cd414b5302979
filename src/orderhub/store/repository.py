"""What the repositories share: the caller's connection, reading rows into dataclasses, this
database's INSERT for ON CONFLICT clauses, and the lease rules of the tables workers take rows
from (the outbox, the sync schedule)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Executable, Select, Table, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T")
D = TypeVar("D", bound="DataclassInstance")
S = TypeVar("S", bound=Select[Any])


class Repository:
    """Reads and writes on the caller's connection, so in the caller's transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _first(
        self, stmt: Executable, make: Callable[[Any], T], params: Mapping[str, Any] | None = None
    ) -> T | None:
        """`make` of the statement's first row (its mapping); None when there is none."""
        row = self.conn.execute(stmt, params).first()
        return None if row is None else make(row._mapping)

    def _all(self, stmt: Executable, make: Callable[[Any], T]) -> list[T]:
        """`make` of each of the statement's rows (their mappings), in order."""
        return [make(row._mapping) for row in self.conn.execute(stmt)]

    def _insert(self, table: Table) -> postgresql.Insert | sqlite.Insert:
        """An INSERT in this database's dialect, so an ON CONFLICT clause can follow."""
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        return dialect.insert(table)

    def _skip_locked(self, pick: S) -> S:
        """On PostgreSQL, lock the picked rows and pass over those another worker has locked
        (`FOR UPDATE SKIP LOCKED`); SQLite's single writer lock already makes picks take turns."""
        if self.conn.dialect.name == "postgresql":
            return pick.with_for_update(skip_locked=True)
        return pick


def lease_free(lease_until: ColumnElement[datetime], at: datetime) -> ColumnElement[bool]:
    """Not held at `at`: never leased, or the lease has run out (a holder that died)."""
    return or_(lease_until.is_(None), lease_until < at)


def from_row(cls: type[D], row: Mapping[Any, Any], **computed: Any) -> D:
    """A `cls` with each field the row's column of that name, or the value given for it."""
    return cls(**{name: computed[name] if name in computed else row[name] for name in _names(cls)})


@cache
def _names(cls: type[DataclassInstance]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))
