"""Saved views in the query language: what a view's query may hold, and how a request's own
parameters combine with it (docs/views.md). Where views are kept is the store's business."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import parse_qsl

from orderhub.domain import InvalidInput
from orderhub.query.parser import SEARCH, parse_query, parse_search

#: The parameter naming a saved view on a list or an export.
VIEW = "view"
#: A view is a query, not a place in one: no paging, and no view inside a view.
NOT_IN_VIEW = ("page", "page_size", "cursor", VIEW)
#: One value each: the request's, when it gives one, replaces the view's.
REPLACED = ("_sort", "filter")
MAX_QUERY_LENGTH = 8192
QUERY_EXPECTED = "a query string of the list's filters, q, _sort or filter=basic"

Params = list[tuple[str, str]]


def view_params(text: str) -> Params:
    """A view's query string as parameters, checked as a list would check them: InvalidInput
    naming `query`, or the first bad parameter itself."""
    if len(text) > MAX_QUERY_LENGTH:
        raise InvalidInput("query", f"{QUERY_EXPECTED}, at most {MAX_QUERY_LENGTH} characters")
    try:
        params = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    except ValueError:
        raise InvalidInput("query", QUERY_EXPECTED, text[:80]) from None
    for name, _ in params:
        if name in NOT_IN_VIEW:
            raise InvalidInput(name, f"not in a view ({QUERY_EXPECTED}; paging is the request's)")
    parse_query(params)
    return params


def with_view(saved: Sequence[tuple[str, str]], params: Sequence[tuple[str, str]]) -> Params:
    """The request's parameters over a view's: the filters of both (ANDed), the words of both
    `q`s (all must appear), the request's `_sort` and `filter` instead of the view's."""
    given = {name for name, _ in params}
    merged = [(n, v) for n, v in saved if n not in given or n not in (*REPLACED, SEARCH)]
    asked = [v for n, v in params if n == SEARCH]
    kept = [v for n, v in saved if n == SEARCH]
    if len(asked) == 1 and kept:
        parse_search(asked[0])  # an empty or bad `q` is refused, not hidden by the view's
        merged.append((SEARCH, f"{kept[0]} {asked[0]}"))
        params = [(n, v) for n, v in params if n != SEARCH]
    return [*merged, *params]
