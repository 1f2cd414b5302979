"""/admin/users (admin only): the staff accounts, and creating, disabling, re-enabling them,
resetting a password or changing a role, through services/users.py (as `orderhub users`)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from orderhub.domain import Conflict, InvalidInput
from orderhub.services import users as service
from orderhub.web.session import ROLES, WebUser, admin
from orderhub.web.templating import page

router = APIRouter(include_in_schema=False)

PATH = "/admin/users"
DONE = {
    "created": "Created {email}.",
    "disabled": "Disabled {email}: their sessions have ended.",
    "enabled": "Enabled {email} again.",
    "password": "Set a new password for {email}: their sessions have ended.",
    "role": "Changed the role of {email}.",
}


@dataclass(frozen=True, slots=True)
class FieldError:
    """A refused form: which form (`create` or a user's e-mail), which field, and why."""

    form: str
    field: str
    message: str


@router.get(PATH, response_class=HTMLResponse)
def users_page(
    request: Request, done: str = "", email: str = "", user: WebUser = admin
) -> Response:
    notice = DONE[done].format(email=email) if done in DONE else ""
    return _page(request, notice=notice)


@router.post(PATH, response_class=HTMLResponse)
def create(
    request: Request,
    email: str = Form(""),
    role: str = Form("staff"),
    password: str = Form(""),
    user: WebUser = admin,
) -> Response:
    engine = request.app.state.engine
    try:
        created = service.create_user(engine, email, role, password, request.app.state.clock)
    except InvalidInput as exc:
        error = FieldError("create", exc.parameter, exc.expected)
        return _page(request, error=error, typed={"email": email, "role": role})
    except Conflict as exc:
        return _page(
            request,
            error=FieldError("create", "email", str(exc)),
            typed={"email": email, "role": role},
        )
    return _done("created", created.email)


@router.post(PATH + "/disable", response_class=HTMLResponse)
def disable(request: Request, email: str = Form(...), user: WebUser = admin) -> Response:
    if email.strip().lower() == user.email:
        error = FieldError(email, "disable", "You cannot disable your own account.")
        return _page(request, error=error)
    found = service.disable_user(request.app.state.engine, email, request.app.state.clock)
    return _done("disabled", found.email)


@router.post(PATH + "/enable", response_class=HTMLResponse)
def enable(request: Request, email: str = Form(...), user: WebUser = admin) -> Response:
    found = service.enable_user(request.app.state.engine, email, request.app.state.clock)
    return _done("enabled", found.email)


@router.post(PATH + "/password", response_class=HTMLResponse)
def reset_password(
    request: Request, email: str = Form(...), password: str = Form(""), user: WebUser = admin
) -> Response:
    engine, clock = request.app.state.engine, request.app.state.clock
    try:
        found = service.reset_password(engine, email, password, clock)
    except InvalidInput as exc:
        return _page(request, error=FieldError(email, "password", exc.expected))
    return _done("password", found.email)


@router.post(PATH + "/role", response_class=HTMLResponse)
def change_role(
    request: Request, email: str = Form(...), role: str = Form(""), user: WebUser = admin
) -> Response:
    if email.strip().lower() == user.email and role != "admin":
        message = "You cannot take the admin role from yourself; another admin can."
        return _page(request, error=FieldError(email, "role", message))
    engine, clock = request.app.state.engine, request.app.state.clock
    try:
        found = service.change_role(engine, email, role, clock)
    except InvalidInput as exc:
        return _page(request, error=FieldError(email, "role", exc.expected))
    return _done("role", found.email)


def _done(what: str, email: str) -> Response:
    """Back to the list (post, redirect, get), saying what was done."""
    return RedirectResponse(f"{PATH}?{urlencode({'done': what, 'email': email})}", status_code=303)


def _page(
    request: Request,
    *,
    notice: str = "",
    error: FieldError | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    return page(
        request,
        "admin_users.html",
        status=200 if error is None else 400,
        title="Users",
        users=service.list_users(request.app.state.engine),
        roles=ROLES,
        min_password=service.MIN_PASSWORD,
        notice=notice,
        error=error,
        typed=typed or {"email": "", "role": "staff"},
    )
