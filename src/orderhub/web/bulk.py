"""Bulk actions from the orders list (docs/web-orders.md): the selected orders, or all matching
the list's query, confirmed, set to a status or tagged through the API's bulk jobs
(services/jobs.py, as `POST /v1/orders/bulk`): a preview of the count (dry_run), then the job,
its progress (htmx polling) and its per-order results. Staff only; a pick list of the
selection is the order pages' `/orders/pick-list`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, RedirectResponse, Response

from orderhub.api.orders import parse_id
from orderhub.domain import InvalidInput, Status
from orderhub.services import jobs
from orderhub.web.orders_query import ListQuery, encode
from orderhub.web.session import WebUser, signed_in, staff
from orderhub.web.templating import page

router = APIRouter(include_in_schema=False)
#: Per-order results shown a page at a time.
RESULTS_PAGE = 200
#: The actions the list offers, and the form input holding each one's value.
VALUE_INPUT = {"confirm": None, "status": "status", "tag": "tag"}
_OUTCOMES = {"changed": "ok: changed", "unchanged": "ok: already so", "failed": "refused"}


@dataclass(frozen=True, slots=True)
class BulkForm:
    """The list's bulk form (and the preview's, which carries it on)."""

    scope: str
    ids: list[str]
    query: str
    action: str
    status: str
    tag: str
    notify: bool
    back: str
    #: The preview's Start button: make the job (else: count, make nothing).
    start: bool = False

    @classmethod
    async def read(cls, request: Request) -> BulkForm:
        form = await request.form()

        def text(name: str, default: str = "") -> str:
            return str(form.get(name, default))

        return cls(
            scope=text("scope", "ids"),
            ids=[str(v) for v in form.getlist("id")],
            query=text("query"),
            action=text("action", "confirm"),
            status=text("status"),
            tag=text("tag").strip(),
            notify=bool(form.get("notify_user")),
            back=text("back"),
            start=text("step") == "start",
        )

    @property
    def value(self) -> str | None:
        source = VALUE_INPUT.get(self.action)
        return getattr(self, source) if source else None

    def body(self, *, dry_run: bool) -> dict[str, Any]:
        """The `POST /v1/orders/bulk` body this form asks for."""
        body: dict[str, Any] = {"action": self.action, "notify_user": self.notify}
        if VALUE_INPUT.get(self.action):
            body["value"] = self.value
        if self.scope == "query":
            body["query"] = self.query
        else:
            body["ids"] = [_number(i) for i in self.ids]
        return body | {"dry_run": dry_run}

    @property
    def back_url(self) -> str:
        return ListQuery.parse(self.back).url()

    def selection_words(self) -> str:
        if self.scope == "query":
            return "every order matching " + (self.query or "the list (no filter)")
        return f"{len(self.ids)} selected order{'' if len(self.ids) == 1 else 's'}"

    def action_words(self) -> str:
        return {
            "confirm": "confirmed",
            "status": f"set to status {self.status}",
            "tag": f"tagged {self.tag}",
        }.get(self.action, self.action)


def _number(text: str) -> int:
    """An id as the API's JSON would carry it (what is not one fails the API's own check)."""
    return int(text) if text.isascii() and text.isdigit() and len(text) < 20 else 0


@router.post("/orders/bulk", response_class=HTMLResponse)
async def bulk(request: Request, user: WebUser = staff) -> Response:
    """Preview (the dry run's count), or with `step=start` make the job and go to it."""
    form = await BulkForm.read(request)
    engine, clock = request.app.state.engine, request.app.state.clock
    try:
        asked = jobs.parse_bulk(form.body(dry_run=not form.start))
        if form.start:
            actor = f"web:{user.email}"[:64]
            job = await run_in_threadpool(jobs.submit, engine, asked, actor, clock)
            return RedirectResponse(f"/orders/bulk/{job.id}", status_code=303)
        matched = await run_in_threadpool(jobs.preview, engine, asked)
    except InvalidInput as exc:
        return _preview(request, form, error=exc)
    return _preview(request, form, matched=matched)


@router.post("/orders/bulk/pick-list")
async def pick_list(request: Request, user: WebUser = staff) -> Response:
    """The selected orders' pick list (the order pages' `/orders/pick-list?id=..`)."""
    form = await BulkForm.read(request)
    if not form.ids:
        problem = InvalidInput("ids", "at least one selected order for a pick list")
        return _preview(request, form, error=problem)
    ids = [str(_number(i)) for i in form.ids]
    return RedirectResponse("/orders/pick-list?" + encode(("id", i) for i in ids), 303)


def _preview(
    request: Request, form: BulkForm, *, matched: int = 0, error: InvalidInput | None = None
) -> Response:
    return page(
        request,
        "bulk_preview.html",
        status=400 if error is not None else 200,
        title="Bulk action: preview",
        form=form,
        matched=matched,
        error=error,
        statuses=[s.value for s in Status],
    )


@router.get("/orders/bulk/{job_id}", response_class=HTMLResponse)
def job_page(job_id: str, request: Request, user: WebUser = signed_in) -> Response:
    """A job's progress (polled every second while it runs), then its per-order results."""
    engine = request.app.state.engine
    number = parse_id("job_id", job_id)
    job = jobs.get_job(engine, number)
    refused_only = request.query_params.get("refused") == "1"
    after = _after(request.query_params.get("after"))
    items: list[Any] = []
    if job.finished_at is not None:
        read = jobs.failures if refused_only else jobs.outcomes
        items = read(engine, number, RESULTS_PAGE + 1, after)
    more = len(items) > RESULTS_PAGE
    items = items[:RESULTS_PAGE]
    return page(
        request,
        "bulk_job.html",
        title=f"Bulk job {job.id}",
        job=job,
        items=items,
        outcomes=_OUTCOMES,
        refused_only=refused_only,
        next_url=_results_url(job.id, refused_only, items[-1].order_id) if more else None,
    )


def _after(raw: str | None) -> int:
    return parse_id("after", raw) if raw else 0


def _results_url(job_id: int, refused_only: bool, after: int) -> str:
    params = [("refused", "1")] if refused_only else []
    return f"/orders/bulk/{job_id}?" + encode([*params, ("after", str(after))])
