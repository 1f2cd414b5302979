"""The order page's action posts (staff only): confirm, change status, ship, cancel, set
vendor_ref, retry the push. Each goes through the service the API uses (services/updates.py
as PUT /v1/orders/{id}; services/line_actions.py as POST .../shipments and .../cancellations;
services/push_retry.py), with the version the page was rendered with as If-Match: a stale form
changes nothing and the page lists what changed since. Bad input: the page again, the
service's message next to the form, 400. Done: a redirect to the page saying so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from orderhub.domain import Conflict, InvalidInput
from orderhub.domain.clock import Clock
from orderhub.domain.fulfilment import LineAction
from orderhub.services.line_actions import record_line_action
from orderhub.services.line_request import parse_line_action
from orderhub.services.mail import Notification, Notifier
from orderhub.services.order_detail import order_detail
from orderhub.services.push_retry import retry_push
from orderhub.services.update_request import parse_update
from orderhub.services.updates import PreconditionFailed, update_order
from orderhub.web.order_view import Stale, order_id, render
from orderhub.web.session import WebUser, staff

router = APIRouter(include_in_schema=False)

Form = Mapping[str, str]


class Act:
    """One post: the engine, the order, the version the form was rendered with, who."""

    def __init__(self, engine: Engine, clock: Clock, number: int, version: int, actor: str) -> None:
        self.engine, self.clock, self.number, self.actor = engine, clock, number, actor
        self.if_match = frozenset({version})


#: What an action did: the `done` word and what became of "Notify the customer".
Outcome = tuple[str, Notification | None]
Action = Callable[[Act, Form], Outcome]


def _confirm(act: Act, form: Form) -> Outcome:
    update_order(act.engine, act.number, parse_update({"confirmed": True}), act.actor, act.if_match)
    return "confirmed", None


def _status(act: Act, form: Form) -> Outcome:
    body = {"status": form.get("status", ""), "notify_user": _notify(form)}
    if delivered_at := form.get("delivered_at", "").strip():
        body["delivered_at"] = delivered_at
    update = parse_update(body)
    result = update_order(act.engine, act.number, update, act.actor, act.if_match)
    return "status", result.notification


def _ship(act: Act, form: Form) -> Outcome:
    body: dict[str, Any] = {
        name: form.get(name, "").strip() or None
        for name in ("carrier", "tracking_number", "tracking_url")
    }
    if form.get("scope", "all") == "lines":
        body["lines"] = [
            {"line_id": name.removeprefix("qty-"), "quantity": _whole(value)}
            for name, value in form.items()
            if name.startswith("qty-") and value.strip() not in ("", "0")
        ]
        if not body["lines"]:
            raise InvalidInput("quantities", "a quantity of at least one line to ship")
    else:
        body["all_remaining"] = True
    request = replace(parse_line_action(LineAction.SHIPMENT, body), notify_user=_notify(form))
    result = record_line_action(act.engine, act.number, request, act.actor, act.if_match)
    return "shipped", result.notification


def _cancel(act: Act, form: Form) -> Outcome:
    body = {"all_remaining": True, "reason": form.get("reason", "").strip() or None}
    request = parse_line_action(LineAction.CANCELLATION, body)
    record_line_action(act.engine, act.number, request, act.actor, act.if_match)
    return "cancelled", None


def _vendor_ref(act: Act, form: Form) -> Outcome:
    update = parse_update({"vendor_ref": form.get("vendor_ref", "").strip() or None})
    update_order(act.engine, act.number, update, act.actor, act.if_match)
    return "vendor_ref", None


def _retry(act: Act, form: Form) -> Outcome:
    retry_push(act.engine, act.number, act.if_match, act.clock)
    return "retry", None


def _notify(form: Form) -> bool:
    return form.get("notify_user") in ("1", "on", "true")


def _whole(text: str) -> object:
    """A quantity as typed: digits are a number, anything else goes to the parser as it is
    (which names it)."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else text


def mail_word(notification: Notification | None) -> str | None:
    """The page's `mail=` word for what became of a notify_user request."""
    if notification is None:
        return None
    if notification.queued:
        return "hub"
    if notification.by is Notifier.CHANNEL:
        return "channel"
    return "no-address" if notification.reason == "no e-mail address" else "unchanged"


async def _post(
    request: Request, raw_id: str, user: WebUser, form_name: str, action: Action
) -> Response:
    number = order_id(raw_id)
    posted = await request.form()
    form = {name: value for name, value in posted.items() if isinstance(value, str)}
    values = {name: value for name, value in form.items() if name != "csrf_token"}
    engine = request.app.state.engine
    try:
        version = _version(form.get("version", ""))
        act = Act(engine, request.app.state.clock, number, version, f"web:{user.email}"[:64])
        done, notification = await run_in_threadpool(action, act, form)
    except PreconditionFailed:
        detail = await run_in_threadpool(order_detail, engine, number)
        stale = Stale(
            posted_version=version,
            changes=detail.changes_since(_count(form.get("seen", ""))),
            push_before=form.get("push_seen", ""),
            push_now=detail.order.push_status or "",
        )
        return render(request, detail, status=409, stale=stale, values=values)
    except (InvalidInput, Conflict) as exc:
        detail = await run_in_threadpool(order_detail, engine, number)
        return render(request, detail, status=400, errors={form_name: str(exc)}, values=values)
    query = {"done": done} | ({"mail": word} if (word := mail_word(notification)) else {})
    return RedirectResponse(f"/orders/{number}?{urlencode(query)}", status_code=303)


def _version(text: str) -> int:
    if text.isascii() and text.isdigit() and len(text) <= 9:
        return int(text)
    raise InvalidInput("version", "the version the page was loaded with; reload the page", text)


def _count(text: str) -> int:
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else 0


def _route(path: str, form_name: str, action: Action) -> None:
    async def post(raw_id: str, request: Request, user: WebUser = staff) -> Response:
        return await _post(request, raw_id, user, form_name, action)

    router.post(f"/orders/{{raw_id}}/{path}", name=f"order_{form_name}")(post)


for _path, _name, _action in (
    ("confirm", "confirm", _confirm),
    ("status", "status", _status),
    ("ship", "ship", _ship),
    ("cancel", "cancel", _cancel),
    ("vendor-ref", "vendor_ref", _vendor_ref),
    ("retry-push", "retry", _retry),
):
    _route(_path, _name, _action)
