"""The dashboard at `/` (docs/web-dashboard.md): orders per day per account as a chart, revenue
per day per currency, counts by status, the unconfirmed queue, and per channel account what
needs someone. Every figure comes from services/dashboard.py."""

from __future__ import annotations

from typing import cast

from fastapi import APIRouter, FastAPI, Request
from markupsafe import Markup
from starlette.responses import HTMLResponse

from orderhub.domain.clock import SYSTEM_CLOCK, Clock
from orderhub.services import dashboard as service
from orderhub.settings import get_settings
from orderhub.web.dashboard_chart import orders_chart
from orderhub.web.session import WebUser, signed_in
from orderhub.web.templating import page

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, user: WebUser = signed_in) -> HTMLResponse:
    app = request.app
    clock: Clock = getattr(app.state, "clock", SYSTEM_CLOCK)
    config_file = getattr(app.state, "config_file", None) or get_settings().config_file
    board = service.dashboard(app.state.engine, config_file, clock, aggregate_cache(app))
    return page(
        request,
        "dashboard.html",
        title="Dashboard",
        board=board,
        figures=board.figures,
        chart=_chart(app, board.figures),
        cache_seconds=int(service.CACHE_SECONDS),
    )


def _chart(app: FastAPI, figures: service.OrderFigures) -> Markup:
    """The chart of these figures: drawn again only when the cache read new ones (pygal
    takes tens of milliseconds)."""
    drawn = getattr(app.state, "dashboard_chart", None)
    if isinstance(drawn, tuple) and drawn[0] is figures:
        return cast(Markup, drawn[1])
    chart = orders_chart(figures)
    app.state.dashboard_chart = (figures, chart)
    return chart


def aggregate_cache(app: FastAPI) -> service.AggregateCache:
    """The app's own cache of the order aggregates (one per app, so per process)."""
    cache = getattr(app.state, "dashboard_cache", None)
    if not isinstance(cache, service.AggregateCache):
        cache = service.AggregateCache()
        app.state.dashboard_cache = cache
    return cache
