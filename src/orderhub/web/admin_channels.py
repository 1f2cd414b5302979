"""`/admin/channels`: each channel account (orderhub.toml, and those known from earlier syncs)
with its sync health and last run, its quarantined records, its failed push-backs (with a
retry through the push service) and "Sync now", which makes the account due for the worker's
scheduler (services/scheduler.py `sync_now`): the post returns at once, the worker syncs it
within about a second. Each account's section is anchored `id="<account>"`."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import HTMLResponse, Response

from orderhub.domain import Conflict, NotFound
from orderhub.services import channels, push, push_retry, scheduler
from orderhub.settings import get_settings
from orderhub.web.admin import notice_of, see_other
from orderhub.web.session import WebUser, admin
from orderhub.web.templating import page

router = APIRouter(include_in_schema=False)
PATH = "/admin/channels"
#: Failed push-backs listed (newest first, over every account).
PUSHES_SHOWN = 500
_ACCOUNT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_NOTICES = {
    "scheduled": "A sync of {} is due now: the worker (orderhub worker or orderhub run) "
    "starts it within a few seconds. Reload to see its run.",
    "running": "A sync of {} is running now.",
    "retried": "The push-back of order {} is queued again.",
}


@router.get(PATH, response_class=HTMLResponse)
def channels_page(request: Request, user: WebUser = admin) -> HTMLResponse:
    return _page(request, notice=notice_of(request, _NOTICES))


@router.post(PATH + "/{name}/sync")
def sync_now(request: Request, name: str, user: WebUser = admin) -> Response:
    """Schedule the account for the worker now (the scheduler's way, not a sync in here)."""
    engine, clock = request.app.state.engine, request.app.state.clock
    configured = {config.name for config in _configs(request)}
    try:
        done = scheduler.sync_now(engine, name, configured, clock)
    except scheduler.NotScheduled as exc:
        return _page(request, error=str(exc), status=409)
    key = "running" if done.running else "scheduled"
    return see_other(PATH, fragment=name, **{key: name})


@router.post(PATH + "/push/{order_id}/retry")
def retry_push(
    request: Request, order_id: str, account: Annotated[str, Form()] = "", user: WebUser = admin
) -> Response:
    """Push the order's newest change to its channel again (services/push_retry.py)."""
    if not order_id.isascii() or not order_id.isdigit() or len(order_id) > 18:
        raise NotFound(f"there is no order {order_id[:40]!r}")
    try:
        push_retry.retry_push(
            request.app.state.engine, int(order_id), clock=request.app.state.clock
        )
    except Conflict as exc:
        return _page(request, error=str(exc), status=409)
    fragment = account if _ACCOUNT.fullmatch(account) else ""
    return see_other(PATH, fragment=fragment, retried=int(order_id))


def _configs(request: Request) -> list[channels.ChannelConfig]:
    path = getattr(request.app.state, "config_file", None) or get_settings().config_file
    return channels.load_config(path)


def _page(
    request: Request, *, notice: str | None = None, error: str | None = None, status: int = 200
) -> HTMLResponse:
    engine, clock = request.app.state.engine, request.app.state.clock
    configs = _configs(request)
    accounts = channels.overview(engine, configs, clock)
    failed = defaultdict(list)
    for item in push.failed_pushes(engine, limit=PUSHES_SHOWN):
        failed[item.channel].append(item)
    scheduled = scheduler.scheduled_accounts(engine)
    quarantined = channels.quarantine_counts(engine)
    known = {a.name for a in accounts}
    return page(
        request,
        "admin_channels.html",
        status=status,
        title="Channels",
        accounts=accounts,
        # Accounts with records here but no sync recorded (orders from another hub, say).
        others=sorted((failed.keys() | quarantined.keys()) - known),
        quarantined=quarantined,
        failed=failed,
        can_sync={a.name for a in accounts if a.configured or a.name in scheduled},
        notice=notice,
        error=error,
    )
