"""`/admin/webhooks`: subscriptions (create with a query-language filter, its signing secret
shown once; pause, resume, delete) and `/admin/webhooks/{id}`, a subscription's delivery log
with "Resend" on failed deliveries. services/webhooks.py does the work, as for /v1/webhooks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import HTMLResponse, Response

from orderhub.domain import InvalidInput, NotFound
from orderhub.domain.xmltext import XML_SAFE, has_non_xml_char
from orderhub.services import webhooks as service
from orderhub.store.webhooks import Subscription
from orderhub.web.admin import field_errors, notice_of, see_other
from orderhub.web.session import WebUser, admin
from orderhub.web.templating import page

router = APIRouter(include_in_schema=False)
PATH = "/admin/webhooks"
#: Delivery log rows per page.
LOG_PAGE = 100
#: Event types ticked on a new subscription's form.
DEFAULT_TYPES = ("order.created", "order.status_changed")
_NOTICES = {
    "paused": "Subscription {} is paused: events are not queued for it until it is resumed.",
    "resumed": "Subscription {} is on again.",
    "deleted": "Subscription {} is deleted; its pending deliveries were dropped.",
}
_LOG_NOTICES = {"resent": "Delivery {} is queued again: the worker sends it on its next round."}


@router.get(PATH, response_class=HTMLResponse)
def webhooks_page(request: Request, user: WebUser = admin) -> HTMLResponse:
    return _list_page(request, notice=notice_of(request, _NOTICES))


@router.post(PATH, response_class=HTMLResponse)
def create_webhook(
    request: Request,
    url: Annotated[str, Form()] = "",
    event_types: Annotated[list[str], Form()] = [],  # noqa: B006  (FastAPI copies the default)
    filter: Annotated[str, Form()] = "",
    user: WebUser = admin,
) -> HTMLResponse:
    """Subscribe, answering with the signing secret: the only time anyone sees it."""
    url, filter = url.strip(), filter.strip()
    form: dict[str, object] = {"url": url, "event_types": event_types, "filter": filter}
    try:
        _check_xml_text(url, filter)
        created = service.create_subscription(
            request.app.state.engine,
            url,
            event_types,
            filter or None,
            clock=request.app.state.clock,
        )
    except InvalidInput as exc:
        return _list_page(request, form=form, errors=field_errors(exc), status=400)
    return _list_page(request, created=created, status=201)


@router.post(PATH + "/{subscription_id}/pause")
def pause_webhook(request: Request, subscription_id: str, user: WebUser = admin) -> Response:
    return _switch(request, subscription_id, active=False)


@router.post(PATH + "/{subscription_id}/resume")
def resume_webhook(request: Request, subscription_id: str, user: WebUser = admin) -> Response:
    return _switch(request, subscription_id, active=True)


@router.post(PATH + "/{subscription_id}/delete")
def delete_webhook(request: Request, subscription_id: str, user: WebUser = admin) -> Response:
    number = _number(subscription_id)
    service.delete_subscription(request.app.state.engine, number)
    return see_other(PATH, deleted=number)


@router.get(PATH + "/{subscription_id}", response_class=HTMLResponse)
def delivery_log(request: Request, subscription_id: str, user: WebUser = admin) -> HTMLResponse:
    return _log_page(request, _number(subscription_id), notice=notice_of(request, _LOG_NOTICES))


@router.post(PATH + "/{subscription_id}/deliveries/{delivery_id}/resend")
def resend_delivery(
    request: Request, subscription_id: str, delivery_id: str, user: WebUser = admin
) -> Response:
    """Queue a failed delivery again (same webhook-id, fresh retries), as the API's retry."""
    number, delivery = _number(subscription_id), _number(delivery_id, "delivery")
    engine, clock = request.app.state.engine, request.app.state.clock
    try:
        service.resend_delivery(engine, number, delivery, clock)
    except service.ResendRefused as exc:
        return _log_page(request, number, error=str(exc), status=409)
    return see_other(f"{PATH}/{number}", resent=delivery)


def _switch(request: Request, subscription_id: str, *, active: bool) -> Response:
    number = _number(subscription_id)
    engine, clock = request.app.state.engine, request.app.state.clock
    service.update_subscription(engine, number, active=active, clock=clock)
    notice = {"resumed" if active else "paused": number}
    return see_other(PATH, fragment=f"webhook-{number}", **notice)


def _number(raw: str, what: str = "webhook subscription") -> int:
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise NotFound(f"there is no {what} {raw[:40]!r}")
    return int(raw)


def _check_xml_text(url: str, filter: str) -> None:
    """What the API refuses (api/webhooks.py): text that XML could not carry."""
    for name, text in (("url", url), ("filter", filter)):
        if has_non_xml_char(text):
            raise InvalidInput(name, XML_SAFE, text[:80])


def state(sub: Subscription) -> str:
    """ "active", "paused" (switched off here or by the API), or why it was disabled."""
    if sub.active:
        return "active"
    reason = sub.disabled_reason or ""
    if reason.startswith("switched off by the merchant"):
        return "paused"
    return f"disabled: {reason or 'no reason recorded'}"


def _list_page(
    request: Request,
    *,
    form: dict[str, object] | None = None,
    errors: dict[str, str] | None = None,
    created: Subscription | None = None,
    notice: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    engine = request.app.state.engine
    subscriptions = service.list_subscriptions(engine)
    return page(
        request,
        "admin_webhooks.html",
        status=status,
        title="Webhooks",
        subscriptions=subscriptions,
        failed=service.failed_counts(engine, subscriptions),
        state=state,
        event_types=service.EVENT_TYPES,
        form=form or {"url": "", "event_types": list(DEFAULT_TYPES), "filter": ""},
        errors=errors or {},
        created=created,
        notice=notice,
    )


def _log_page(
    request: Request,
    number: int,
    *,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    engine = request.app.state.engine
    subscription = service.get_subscription(engine, number)
    before = request.query_params.get("before")
    cursor = _number(before, "page") if before else None
    rows = service.delivery_log(engine, number, LOG_PAGE + 1, cursor)
    older = rows[LOG_PAGE - 1].delivery.id if len(rows) > LOG_PAGE else None
    return page(
        request,
        "admin_webhook.html",
        status=status,
        title=f"Webhook {number}",
        subscription=subscription,
        state=state(subscription),
        deliveries=rows[:LOG_PAGE],
        older=older,
        notice=notice,
        error=error,
    )
