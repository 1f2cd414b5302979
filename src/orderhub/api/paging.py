"""RFC 8288 `Link` headers for list answers: `next`, and `prev` and `first` where they exist.

Each link is the request's own URL with the same query, only the paging parameters changed:
keyset-paged lists (orders, deliveries) put the next page's `cursor` in `next`; offset-paged
ones (quarantine) put `page+1`. A list on its first page has no `prev` nor `first`; the last
page has no `next` (and its envelope says `"has_next": false`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from starlette.requests import Request

#: Declared in OpenAPI for every paged list answer.
LINK_HEADER_DOC = {
    "Link": {
        "description": "RFC 8288 links to the other pages, e.g. `<https://hub/v1/orders?"
        'cursor=...>; rel="next"`: `next` unless this is the last page, `prev` and `first` '
        "unless it is the first. Absent when there is a single page.",
        "schema": {"type": "string"},
    }
}


def page_url(request: Request, **changes: str | None) -> str:
    """The request's URL with some query parameters set (None: removed), the rest kept."""
    items = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    items += [(k, v) for k, v in changes.items() if v is not None]
    # `:` and `$` stay readable (`status=in:open`, `$null`); `,` is escaped for naive splitters.
    return str(request.url.replace(query=urlencode(items, safe=":$", quote_via=quote)))


def link_header(links: Mapping[str, str]) -> dict[str, str]:
    """`{"Link": '<url>; rel="next", ...'}`, or no header when there is no link."""
    if not links:
        return {}
    return {"Link": ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items())}


def cursor_links(request: Request, page: int, pages: int, cursor: str | None) -> dict[str, str]:
    """Keyset paging: `next` carries the next cursor; `prev` is the previous page by number
    (with no cursor: a cursor points forward only), `first` the query without paging."""
    links: dict[str, str] = {}
    if cursor is not None:
        links["next"] = page_url(request, cursor=cursor, page=None)
    links.update(_back(request, page, pages, cursor=None))
    return links


def offset_links(request: Request, page: int, pages: int) -> dict[str, str]:
    """Offset paging: `next` is page+1 while there is one, `prev` page-1, `first` page 1."""
    links: dict[str, str] = {}
    if page < pages:
        links["next"] = page_url(request, page=str(page + 1))
    links.update(_back(request, page, pages))
    return links


def _back(request: Request, page: int, pages: int, **also: str | None) -> dict[str, str]:
    """`prev` and `first` from page 2 on; past the last page, `prev` is the last page."""
    if page <= 1:
        return {}
    previous = str(min(page - 1, max(pages, 1)))
    return {
        "prev": page_url(request, page=previous, **also),
        "first": page_url(request, page=None, **also),
    }


T = TypeVar("T")


def keyset_page(
    found: Sequence[T], limit: int, cursor_of: Callable[[T], int]
) -> tuple[list[T], dict[str, Any]]:
    """A page from up to `limit + 1` items read (one more: there is a next page), and its
    `paging`: the cursor of the next page (the last item's key) or None at the end."""
    page, more = list(found[:limit]), len(found) > limit
    cursor = str(cursor_of(page[-1])) if more else None
    return page, {"size": limit, "cursor": cursor, "has_next": more}
