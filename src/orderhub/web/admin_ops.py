"""`/admin/mail`: customer e-mail in the outbox, with "Retry" as `orderhub mail retry` does;
`/admin/quarantine`: channel records that could not be read, their raw payloads shown as text
(escaped: a payload is the channel's, never markup of ours)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from orderhub.domain import InvalidInput, NotFound
from orderhub.services import channels, mail
from orderhub.store.outbox import OutboxStatus
from orderhub.web.admin import notice_of, see_other
from orderhub.web.session import WebUser, admin
from orderhub.web.templating import page

router = APIRouter(include_in_schema=False)
MAIL_PATH = "/admin/mail"
QUARANTINE_PATH = "/admin/quarantine"
MAIL_SHOWN = 200
QUARANTINE_PAGE = 50
STATUSES = tuple(s.value for s in OutboxStatus)
_MAIL_NOTICES = {"retried": "Mail {} is queued again: the worker sends it on its next round."}


@router.get(MAIL_PATH, response_class=HTMLResponse)
def mail_page(request: Request, user: WebUser = admin) -> HTMLResponse:
    status = request.query_params.get("status") or None
    if status is not None and status not in STATUSES:
        raise InvalidInput("status", f"one of {', '.join(STATUSES)}", status[:40])
    return page(
        request,
        "admin_mail.html",
        title="Mail outbox",
        messages=mail.list_mail(request.app.state.engine, status, MAIL_SHOWN),
        statuses=STATUSES,
        selected=status,
        shown=MAIL_SHOWN,
        notice=notice_of(request, _MAIL_NOTICES),
    )


@router.post(MAIL_PATH + "/{mail_id}/retry")
def retry_mail(request: Request, mail_id: str, user: WebUser = admin) -> Response:
    """Queue the message again (the CLI's `orderhub mail retry`)."""
    number = int(mail_id) if mail_id.isascii() and mail_id.isdigit() and len(mail_id) < 19 else 0
    if not mail.retry_mail(request.app.state.engine, number, request.app.state.clock):
        raise NotFound(f"there is no mail with id {mail_id[:40]!r}")
    return see_other(MAIL_PATH, retried=number)


@router.get(QUARANTINE_PATH, response_class=HTMLResponse)
def quarantine_page(request: Request, user: WebUser = admin) -> HTMLResponse:
    engine = request.app.state.engine
    account = request.query_params.get("account") or None
    number = _page_number(request.query_params.get("page"))
    records, total = channels.quarantined(engine, account, number, QUARANTINE_PAGE)
    pages = max(1, -(-total // QUARANTINE_PAGE))
    return page(
        request,
        "admin_quarantine.html",
        title="Quarantine",
        records=[(record, payload_text(record.payload)) for record in records],
        counts=channels.quarantine_counts(engine),
        account=account,
        total=total,
        number=number,
        pages=pages,
    )


def payload_text(payload: Any) -> str:
    """A raw payload as readable text: JSON indented, a text payload as it came."""
    if isinstance(payload, str):
        return payload
    return json.dumps(payload, indent=2, ensure_ascii=False, default=str)


def _page_number(raw: str | None) -> int:
    if raw is None or raw == "":
        return 1
    if not raw.isascii() or not raw.isdigit() or len(raw) > 7 or int(raw) < 1:
        raise InvalidInput("page", "a page number from 1", raw[:40])
    return int(raw)
