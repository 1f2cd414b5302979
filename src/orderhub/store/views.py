"""Saved views: a name and the list query it stands for (services/views.py, docs/views.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Text, select

from orderhub.store.repository import Repository, from_row
from orderhub.store.tables import id_table
from orderhub.store.types import Str, UTCDateTime

views = id_table(
    "views",
    Column("name", Str(64), nullable=False, unique=True),
    Column("query", Text, nullable=False),  # the list's query string, checked when saved
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)


@dataclass(frozen=True, slots=True)
class SavedView:
    id: int
    name: str
    query: str
    created_at: datetime
    updated_at: datetime


def _view(row: Any) -> SavedView:
    return from_row(SavedView, row)


class ViewRepository(Repository):
    def create(self, name: str, query: str, at: datetime) -> SavedView | None:
        """The new view; None when the name is taken (nothing written)."""
        stmt = (
            self._insert(views)
            .values(name=name, query=query, created_at=at, updated_at=at)
            .on_conflict_do_nothing(index_elements=["name"])
            .returning(*views.c)
        )
        return self._first(stmt, _view)

    def get(self, name: str) -> SavedView | None:
        return self._first(select(views).where(views.c.name == name), _view)

    def all(self) -> list[SavedView]:
        return self._all(select(views).order_by(views.c.name), _view)

    def replace(self, name: str, query: str, at: datetime) -> SavedView | None:
        """The view with its new query; None when there is no view of that name."""
        stmt = views.update().where(views.c.name == name).values(query=query, updated_at=at)
        if self.conn.execute(stmt).rowcount != 1:
            return None
        return self.get(name)

    def delete(self, name: str) -> bool:
        return self.conn.execute(views.delete().where(views.c.name == name)).rowcount == 1
