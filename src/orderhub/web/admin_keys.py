"""`/admin/keys`: the API's keys with today's usage against their quota; create one (its token
shown once, on the answer to the post, never again) and revoke one. services/keys.py does the
work, as for `orderhub keys`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import HTMLResponse, Response

from orderhub.domain import Conflict, InvalidInput
from orderhub.services import keys as service
from orderhub.web.admin import field_errors, notice_of, see_other
from orderhub.web.session import WebUser, admin
from orderhub.web.templating import page

router = APIRouter(include_in_schema=False)
PATH = "/admin/keys"
_NOTICES = {"revoked": "API key {} is revoked: requests with it are refused from now on."}
_LIMIT_EXPECTED = f"requests a UTC day: an integer from 1 to {service.MAX_DAILY_LIMIT:,}"


@router.get(PATH, response_class=HTMLResponse)
def keys_page(request: Request, user: WebUser = admin) -> HTMLResponse:
    return _page(request, notice=notice_of(request, _NOTICES))


@router.post(PATH, response_class=HTMLResponse)
def create_key(
    request: Request,
    name: Annotated[str, Form()] = "",
    scopes: Annotated[list[str], Form()] = [],  # noqa: B006  (FastAPI copies the default)
    daily_limit: Annotated[str, Form()] = "",
    user: WebUser = admin,
) -> HTMLResponse:
    """Create the key and answer with its token: the only time anyone sees it."""
    name, daily_limit = name.strip(), daily_limit.strip()
    form: dict[str, object] = {"name": name, "scopes": scopes, "daily_limit": daily_limit}
    try:
        new = service.create_key(
            request.app.state.engine,
            name,
            tuple(dict.fromkeys(scopes)),
            _daily_limit(daily_limit),
            now=request.app.state.clock.now(),
        )
    except (InvalidInput, Conflict) as exc:
        # A name taken is the name's fault: said next to it.
        errors = {"name": str(exc)} if isinstance(exc, Conflict) else field_errors(exc)
        status = 409 if isinstance(exc, Conflict) else 400
        return _page(request, form=form, errors=errors, status=status)
    return _page(request, created=new, status=201)


@router.post(PATH + "/{name}/revoke")
def revoke_key(request: Request, name: str, user: WebUser = admin) -> Response:
    service.revoke_key(request.app.state.engine, name, request.app.state.clock.now())
    return see_other(PATH, revoked=name)


def _daily_limit(raw: str) -> int | None:
    if raw == "":
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 13:
        raise InvalidInput("daily_limit", _LIMIT_EXPECTED, raw[:40])
    return int(raw)


def _page(
    request: Request,
    *,
    form: dict[str, object] | None = None,
    errors: dict[str, str] | None = None,
    created: service.NewKey | None = None,
    notice: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    engine, clock = request.app.state.engine, request.app.state.clock
    return page(
        request,
        "admin_keys.html",
        status=status,
        title="API keys",
        keys=service.list_keys(engine, clock.now()),
        scopes=service.SCOPES,
        prefix=service.KEY_PREFIX,
        form=form or {"name": "", "scopes": [service.READ], "daily_limit": ""},
        errors=errors or {},
        created=created,
        notice=notice,
    )
