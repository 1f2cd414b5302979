"""Saved views (`/v1/views`, `?view=name` on lists and exports; docs/views.md)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import Engine

from orderhub.domain import Conflict, InvalidInput, NotFound
from orderhub.domain.clock import SYSTEM_CLOCK, Clock
from orderhub.query.saved import VIEW, Params, view_params, with_view
from orderhub.store import UnitOfWork
from orderhub.store.views import SavedView, ViewRepository

NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
NAME_EXPECTED = "1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit"
_NAME = re.compile(NAME_PATTERN)


class ViewNotFound(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"view: no saved view is named {name!r}")


class ViewExists(Conflict):
    def __init__(self, name: str) -> None:
        super().__init__(f"name: a view named {name!r} exists (PUT /v1/views/{name} changes it)")


def check_name(name: object, parameter: str = "name") -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidInput(parameter, NAME_EXPECTED, name if isinstance(name, str) else None)
    return name


def check_query(query: object) -> str:
    """The view's query string, checked now as a list would check it (InvalidInput if not)."""
    if not isinstance(query, str):
        raise InvalidInput("query", "a query string such as status=open&q=novak")
    view_params(query)
    return query


def create_view(engine: Engine, name: str, query: str, clock: Clock = SYSTEM_CLOCK) -> SavedView:
    """The new view; the same view saved again is that view (a retry is no conflict), the name
    taken by another query is ViewExists."""
    check_name(name)
    check_query(query)
    with UnitOfWork(engine) as uow:
        repo = ViewRepository(uow.conn)
        saved = repo.create(name, query, clock.now()) or repo.get(name)
    if saved is None or saved.query != query:
        raise ViewExists(name)
    return saved


def list_views(engine: Engine) -> list[SavedView]:
    with engine.connect() as conn:
        return ViewRepository(conn).all()


def get_view(engine: Engine, name: str) -> SavedView:
    with engine.connect() as conn:
        found = ViewRepository(conn).get(name)
    if found is None:
        raise ViewNotFound(name)
    return found


def replace_view(engine: Engine, name: str, query: str, clock: Clock = SYSTEM_CLOCK) -> SavedView:
    check_query(query)
    with UnitOfWork(engine) as uow:
        replaced = ViewRepository(uow.conn).replace(name, query, clock.now())
    if replaced is None:
        raise ViewNotFound(name)
    return replaced


def delete_view(engine: Engine, name: str) -> None:
    with UnitOfWork(engine) as uow:
        if not ViewRepository(uow.conn).delete(name):
            raise ViewNotFound(name)


def expand(engine: Engine, params: Iterable[tuple[str, str]]) -> Params:
    """A list's parameters with `view=name` replaced by that view's query (docs/views.md);
    InvalidInput naming `view` when there is no such view."""
    params = list(params)
    names = [value for name, value in params if name == VIEW]
    if not names:
        return params
    if len(names) > 1:
        raise InvalidInput(VIEW, "at most one value")
    with engine.connect() as conn:
        found = ViewRepository(conn).get(names[0])
    if found is None:
        raise InvalidInput(VIEW, "the name of a saved view (GET /v1/views lists them)", names[0])
    rest = [(name, value) for name, value in params if name != VIEW]
    return with_view(view_params(found.query), rest)
