"""The orders list (`/orders`, docs/web-orders.md): a page of orders through the service of
`GET /v1/orders`, the query string being the API's query language (web/orders_query.py); the
filter bar, saved views in the sidebar, and the CSV export of the same query."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from orderhub.api.render import page_envelope
from orderhub.domain import Conflict, InvalidInput, PaymentStatus, Status
from orderhub.query import MAX_PAGE_SIZE, Count
from orderhub.query.operators import OPERATORS
from orderhub.services import orders as orders_service
from orderhub.services import views as views_service
from orderhub.services.exports import ExportFormat, parse_export, start_export
from orderhub.services.order_presets import PRESETS
from orderhub.store.counting import AT_LEAST, ESTIMATED, EXACT
from orderhub.web.orders_query import COLUMNS, FilterBar, ListQuery, field_names
from orderhub.web.session import WebUser, signed_in, staff
from orderhub.web.templating import page

router = APIRouter(include_in_schema=False)
PAGE_SIZES = (25, 50, 100, 250)


@router.get("/orders", response_class=HTMLResponse)
def orders_list(request: Request, user: WebUser = signed_in) -> Response:
    return render_list(request, ListQuery(request.query_params.multi_items()))


@router.get("/orders/filter")
def build_query(request: Request, user: WebUser = signed_in) -> Response:
    """The filter bar's and the query input's GET forms: to the list at the query they make."""
    form = request.query_params
    if "query" in form:
        given = ListQuery.parse(form["query"]).given
    else:
        given = FilterBar.build(dict(form.items()), form.getlist("keep"))
    return RedirectResponse(ListQuery(given).url(), status_code=303)


@router.get("/orders/count", response_class=HTMLResponse)
def count_matches(request: Request, user: WebUser = signed_in) -> Response:
    """The list's count, loaded by the page after it shows (htmx): estimated unless the query
    says `count=` (cheap at any size: docs/web-orders.md, "Counting")."""
    engine, clock = request.app.state.engine, request.app.state.clock
    listing = ListQuery(request.query_params.multi_items()).unpaged
    resolved = listing.resolve(engine, clock, Count.ESTIMATED)
    found = orders_service.list_orders(engine, replace(resolved.query, page_size=1))
    counted = _count(listing, found.total, found.counted)
    # The bulk bar's "All N matching" takes the count too (an out-of-band swap).
    return page(request, "orders_list_count.html", oob=user.can_write, **counted)


@router.get("/orders/export.csv")
def export_csv(request: Request, user: WebUser = signed_in) -> Response:
    """The list's query as CSV through the API's streamed export (`GET /v1/orders.csv`)."""
    engine, clock = request.app.state.engine, request.app.state.clock
    params = ListQuery(request.query_params.multi_items()).export_params(clock)
    spec = parse_export(views_service.expand(engine, params), ExportFormat.CSV)
    export = start_export(engine, spec)
    name = spec.filename(clock.now())
    return StreamingResponse(
        export.chunks(),
        media_type=ExportFormat.CSV.media_type,
        headers={"Content-Disposition": f"attachment; filename={name}"},
    )


@router.post("/orders/views")
async def save_view(request: Request, user: WebUser = staff) -> Response:
    """Save the list's query as a view (`POST /v1/views`'s service); its error on the page."""
    form = await request.form()
    name, query, back = (str(form.get(k, "")) for k in ("name", "query", "back"))
    engine, clock = request.app.state.engine, request.app.state.clock
    try:
        views_service.create_view(engine, name.strip(), query, clock)
    except (InvalidInput, Conflict) as exc:
        status = 400 if isinstance(exc, InvalidInput) else 409
        return render_list(
            request, ListQuery.parse(back), status=status, view_error=str(exc), view_name=name
        )
    return RedirectResponse(ListQuery([("view", name.strip())]).url(), status_code=303)


@router.post("/orders/views/{name}/delete")
async def delete_view(name: str, request: Request, user: WebUser = staff) -> Response:
    form = await request.form()
    views_service.delete_view(request.app.state.engine, name)
    back = ListQuery.parse(str(form.get("back", "")))
    if back.view == name:  # the list showed the view just deleted
        back = ListQuery([])
    return RedirectResponse(back.url(), status_code=303)


def render_list(
    request: Request,
    listing: ListQuery,
    *,
    status: int = 200,
    view_error: str | None = None,
    view_name: str = "",
) -> Response:
    """The list page of `listing`; a query the API refuses is shown with its error, 400."""
    engine, clock = request.app.state.engine, request.app.state.clock
    context: dict[str, Any] = {
        "listing": listing,
        "bar": FilterBar.of(listing.given),
        "views": views_service.list_views(engine),
        "presets": PRESETS.values(),
        "view_error": view_error,
        "view_name": view_name,
        **_choices(),
    }
    try:
        resolved = listing.resolve(engine, clock)
        found = orders_service.list_orders(engine, resolved.query)
    except InvalidInput as exc:
        return page(
            request,
            "orders_list.html",
            status=400,
            title="Orders",
            query_error=str(exc),
            resolved=None,
            rows=[],
            **context,
        )
    paging = page_envelope(resolved.query, found, [])["paging"]
    return page(
        request,
        "orders_list.html",
        status=status,
        title=_title(listing),
        query_error=None,
        resolved=resolved,
        rows=[_row(r) for r in found.rows],
        paging=paging,
        links=_links(listing, paging),
        **_count(listing, paging["total"], paging["count"]),
        **context,
    )


def _title(listing: ListQuery) -> str:
    if listing.preset in PRESETS:
        return PRESETS[listing.preset].title
    if listing.view:
        return f"Orders: view {listing.view}"
    return "Orders"


#: What a row of the table shows (a stored row holds every column).
_SHOWN = (
    "id", "channel", "channel_type", "external_id", "created_at", "customer", "status",
    "confirmed", "payment_status", "total", "currency",
)  # fmt: skip


def _row(row: Any) -> dict[str, Any]:
    tags = row.get("tags") or ""
    return {**{k: row[k] for k in _SHOWN}, "tags": sorted(tags.split())}


def _links(listing: ListQuery, paging: dict[str, Any]) -> dict[str, str]:
    """Next and previous as the API's Link header gives them (api/paging.py `cursor_links`):
    next by the cursor, previous by page number (a cursor points forward only)."""
    number = paging["page"]
    # Past the last page, previous is the last one: known only from an exact count.
    exact = paging["count"] == EXACT and paging["pages"] is not None
    pages = paging["pages"] if exact else number
    links: dict[str, str] = {}
    if paging["cursor"] is not None:
        links["next"] = listing.url(cursor=paging["cursor"], page=None)
    if number > 1:
        links["prev"] = listing.url(page=str(min(number - 1, max(pages, 1))), cursor=None)
        links["first"] = listing.url(page=None, cursor=None)
    return links


def _count(listing: ListQuery, total: int | None, how: str) -> dict[str, Any]:
    """The count in honest words (exact, a lower bound, an estimate, or none), and the link
    that counts exactly."""
    if total is None:
        counted = None
    elif how == AT_LEAST:
        counted = f"{total:,}+"
    elif how == ESTIMATED:
        counted = f"about {total:,}"
    else:
        assert how == EXACT
        counted = f"{total:,}"
    return {"counted": counted, "exact_url": None if how == EXACT else listing.url(count="exact")}


def _choices() -> dict[str, Any]:
    return {
        "columns": COLUMNS,
        "statuses": [s.value for s in Status],
        "payment_statuses": [s.value for s in PaymentStatus],
        "fields": field_names(),
        "modifiers": [(name, op.human) for name, op in OPERATORS.items()],
        "page_sizes": [s for s in PAGE_SIZES if s <= MAX_PAGE_SIZE],
    }
