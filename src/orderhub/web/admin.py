"""The admin pages' index (`/admin`), and what the admin pages share: the answer after a
post (a redirect back, with a notice the page words itself) and form errors by field.

Every admin page takes the `admin` dependency: a signed-in staff or viewer gets the 403 page.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse

from orderhub.domain import InvalidInput, OrderhubError
from orderhub.web.session import WebUser, admin
from orderhub.web.templating import page

router = APIRouter(include_in_schema=False)

#: The admin pages, in the order the index lists them: (path, name, what it is for).
PAGES = (
    ("/admin/users", "Users", "Staff accounts: create, disable, reset a password."),
    ("/admin/keys", "API keys", "Keys of the JSON API: create, revoke, usage against quota."),
    ("/admin/webhooks", "Webhooks", "Subscriptions, their delivery log, resending."),
    ("/admin/mail", "Mail outbox", "Customer e-mail waiting, sent or failed; retry."),
    ("/admin/quarantine", "Quarantine", "Channel records that could not be read, raw."),
    ("/admin/channels", "Channels", "Accounts, sync health, failed push-backs, sync now."),
)


@router.get("/admin", response_class=HTMLResponse)
def index(request: Request, user: WebUser = admin) -> HTMLResponse:
    return page(request, "admin.html", title="Admin", pages=PAGES)


def see_other(path: str, fragment: str = "", **notice: str | int) -> RedirectResponse:
    """Back to `path` after a post (303: the browser GETs it), `notice` in its query string."""
    query = f"?{urlencode(notice)}" if notice else ""
    anchor = f"#{fragment}" if fragment else ""
    return RedirectResponse(f"{path}{query}{anchor}", status_code=303)


def field_errors(exc: OrderhubError) -> dict[str, str]:
    """The service's message, keyed by the form field it names (`form` when it names none)."""
    if isinstance(exc, InvalidInput):
        return {exc.parameter: str(exc)}
    return {"form": str(exc)}


def notice_of(request: Request, words: Mapping[str, str]) -> str | None:
    """The page's own words for the notice a post redirected with (never the query's text)."""
    for name, template in words.items():
        value = request.query_params.get(name)
        if value:
            return template.format(value[:80])
    return None
