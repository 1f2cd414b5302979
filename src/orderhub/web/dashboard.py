"""The dashboard at `/`. SKELETON: the charts and counts come with the dashboard work."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from orderhub.web.session import WebUser, signed_in
from orderhub.web.templating import page

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, user: WebUser = signed_in) -> HTMLResponse:
    return page(request, "dashboard.html", title="Dashboard")
