"""Thin routes for bulk jobs: POST /v1/orders/bulk, and /v1/jobs to follow and cancel them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from orderhub.api.auth import READ, WRITE, require
from orderhub.api.content_type import JSON_BODY, json_body
from orderhub.api.order_writes import TEXT_PATTERN
from orderhub.api.orders import parse_id
from orderhub.api.paging import LINK_HEADER_DOC, keyset_page, link_header, page_url
from orderhub.api.problems import problem
from orderhub.api.render import json_response
from orderhub.api.schemas import _Closed, answer, problems
from orderhub.domain import InvalidInput, Status
from orderhub.query.values import INT64_MAX
from orderhub.services import jobs as service
from orderhub.services.keys import ApiKey
from orderhub.services.update_request import MAX_VENDOR_REF

router = APIRouter(prefix="/v1", tags=["bulk jobs"])
_LIMIT = 100
_STATUSES = ("queued", "running", "finished", "cancelled")


class Job(_Closed):
    id: int
    status: Literal[_STATUSES] = Field(  # type: ignore[valid-type]
        description="queued, running, then finished (every order done) or cancelled."
    )
    action: Literal[tuple(service.ACTIONS)]  # type: ignore[valid-type]
    value: str | None = Field(None, description="The status or vendor_ref set (those actions).")
    notify_user: bool
    selection: dict[str, Any] = Field(
        description='{"query": "..."} as sent, or {"ids": N}: how many ids were sent.'
    )
    matched: int = Field(description="Orders the job acts on, fixed when it was made.")
    processed: int
    changed: int
    unchanged: int = Field(description="Already as asked: nothing written, no event.")
    failed: int = Field(description="Refused (see /failures) or no such order.")
    cancel_requested: bool
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobPaging(_Closed):
    size: int
    cursor: str | None = Field(description="Pass as cursor= for the next page; null at the end.")
    has_next: bool


class JobList(_Closed):
    data: list[Job]
    paging: JobPaging


class Failure(_Closed):
    order_id: int
    reason: str


class FailurePage(_Closed):
    data: list[Failure]
    paging: JobPaging


class BulkPreview(_Closed):
    dry_run: Literal[True]
    matched: int = Field(description="Orders the job would act on now.")


_EXAMPLES = {
    "confirm a query": {"value": {"query": "confirmed=0&channel=mall-cz", "action": "confirm"}},
    "ship ids": {"value": {"ids": [1, 2, 3], "action": "status", "value": "shipped"}},
    "count first": {"value": {"query": "status=open", "action": "confirm", "dry_run": True}},
}
_STATUS_VALUES = [s.value for s in Status]
#: One variant per action (what `value` it takes), and exactly one of ids and query.
_BODY_SCHEMA = {
    "type": "object",
    "required": ["action"],
    "oneOf": [
        {"required": ["ids"], "not": {"required": ["query"]}},
        {"required": ["query"], "not": {"required": ["ids"]}},
    ],
    "anyOf": [
        {"properties": {"action": {"const": "confirm"}}, "not": {"required": ["value"]}},
        {
            "properties": {"action": {"const": "status"}, "value": {"enum": _STATUS_VALUES}},
            "required": ["value"],
        },
        {
            "properties": {
                "action": {"const": "vendor_ref"},
                "value": {
                    "anyOf": [
                        {"type": "string", "maxLength": MAX_VENDOR_REF, "pattern": TEXT_PATTERN},
                        {"type": "null"},
                    ]
                },
            },
            "required": ["value"],
        },
    ],
    "additionalProperties": False,
    "properties": {
        "ids": {
            "type": "array",
            "minItems": 1,
            "maxItems": service.MAX_IDS,
            "items": {"type": "integer", "format": "int64", "minimum": 1, "maximum": INT64_MAX},
            "description": "The orders to act on (ids that name no order fail).",
        },
        "query": {
            "type": "string",
            "description": "The list's filters as a query string: every order matching now "
            "(docs/query-language.md; the pattern shows a few of them).",
            "pattern": "^(status=(open|shipped|delivered)(&channel=[a-z0-9-]{1,20})?)?$",
        },
        "action": {"type": "string", "enum": list(service.ACTIONS)},
        "value": {
            "description": "status: the new status; vendor_ref: the reference (null clears "
            "it); confirm takes none.",
        },
        "notify_user": {"type": "boolean", "description": "E-mail each customer, as PUT does."},
        "dry_run": {"type": "boolean", "description": "Count the orders; make no job."},
    },
}
_LOCATION = {"Location": {"description": "The job: /v1/jobs/{id}", "schema": {"type": "string"}}}
_JOB_EXAMPLE = {
    "id": 7, "status": "running", "action": "confirm", "value": None, "notify_user": False,
    "selection": {"query": "confirmed=0&channel=mall-cz"}, "matched": 1200, "processed": 500,
    "changed": 480, "unchanged": 18, "failed": 2, "cancel_requested": False,
    "created_by": "warehouse", "created_at": "2026-12-06T10:00:00Z",
    "started_at": "2026-12-06T10:00:01Z", "finished_at": None,
}  # fmt: skip
_END = {"size": 100, "cursor": None, "has_next": False}
_FAILURES_EXAMPLE = {
    "data": [{"order_id": 4300000042, "reason": "cannot change status from shipped to open"}],
    "paging": _END,
}
_CURSOR = {
    "name": "cursor",
    "in": "query",
    "required": False,
    "description": "paging.cursor of the previous page.",
    "schema": {"type": "integer", "format": "int64", "minimum": 0, "maximum": INT64_MAX},
}


@router.post(
    "/orders/bulk",
    status_code=202,
    dependencies=[JSON_BODY],
    response_model=None,
    responses={
        **answer(
            Job,
            "The job, queued for the worker",
            status=202,
            headers=_LOCATION,
            example={
                **_JOB_EXAMPLE,
                "status": "queued",
                "processed": 0,
                "changed": 0,
                "unchanged": 0,
                "failed": 0,
                "started_at": None,
            },
        ),
        **answer(
            BulkPreview,
            "dry_run: how many orders the job would act on",
            example={"dry_run": True, "matched": 1200},
        ),
        **problems(415),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _BODY_SCHEMA, "examples": _EXAMPLES}},
        }
    },
    summary="One action (confirm, status, vendor_ref) on many orders, as a job",
)
async def bulk(request: Request, key: ApiKey = require(WRITE)) -> Response:
    example = '{"query": "...", "action": ...}'
    bulk_request = service.parse_bulk(json_body(await request.body(), example))
    engine = request.app.state.engine
    if bulk_request.dry_run:
        matched = await run_in_threadpool(service.preview, engine, bulk_request)
        return json_response({"dry_run": True, "matched": matched})
    job = await run_in_threadpool(service.submit, engine, bulk_request, key.name)
    headers = {"Location": f"/v1/jobs/{job.id}"}
    return json_response(service.job_document(job), 202, headers)


@router.api_route(
    "/orders/bulk",
    methods=["GET", "PUT", "DELETE", "PATCH"],
    include_in_schema=False,
    dependencies=[require(READ)],
)
def bulk_is_post_only(request: Request) -> Response:
    """Not an order id: without this, PUT /orders/bulk would read `bulk` as one."""
    return problem(
        request, 405, "Method Not Allowed", "POST only", "http", headers={"Allow": "POST"}
    )


@router.get(
    "/jobs",
    dependencies=[require(READ)],
    response_model=None,
    responses={
        **answer(
            JobList,
            "Jobs, newest first",
            headers=LINK_HEADER_DOC,
            example={"data": [_JOB_EXAMPLE], "paging": _END},
        ),
        **problems(),
    },
    openapi_extra={"parameters": [_CURSOR]},
    summary="Bulk jobs, newest first",
)
def list_jobs(request: Request) -> Response:
    before = _cursor(request, ("cursor",))
    found = service.recent_jobs(request.app.state.engine, _LIMIT + 1, before or None)
    page, paging = keyset_page(found, _LIMIT, lambda job: job.id)
    return _paged(request, {"data": [service.job_document(j) for j in page], "paging": paging})


@router.get(
    "/jobs/{job_id}",
    dependencies=[require(READ)],
    response_model=None,
    responses={**answer(Job, "The job and its counts", example=_JOB_EXAMPLE), **problems(404)},
    summary="A job's progress",
)
def get_job(job_id: str, request: Request) -> Response:
    job = service.get_job(request.app.state.engine, parse_id("job_id", job_id))
    return json_response(service.job_document(job))


@router.get(
    "/jobs/{job_id}/failures",
    dependencies=[require(READ)],
    response_model=None,
    responses={
        **answer(
            FailurePage,
            "Orders the job could not change, with why",
            headers=LINK_HEADER_DOC,
            example=_FAILURES_EXAMPLE,
        ),
        **problems(404),
    },
    openapi_extra={"parameters": [_CURSOR]},
    summary="A job's per-order failures, in order-id order",
)
def job_failures(job_id: str, request: Request) -> Response:
    number = parse_id("job_id", job_id)
    after = _cursor(request, ("cursor",))
    found = service.failures(request.app.state.engine, number, _LIMIT + 1, after)
    page, paging = keyset_page(found, _LIMIT, lambda failure: failure.order_id)
    data = [{"order_id": f.order_id, "reason": f.reason or ""} for f in page]
    return _paged(request, {"data": data, "paging": paging})


@router.post(
    "/jobs/{job_id}/cancel",
    status_code=202,
    dependencies=[require(WRITE)],
    response_model=None,
    responses={
        **answer(
            Job,
            "Cancelling: the job stops before its next batch",
            status=202,
            example={**_JOB_EXAMPLE, "cancel_requested": True},
        ),
        **problems(404, 409),
    },
    summary="Cancel a job (what it already did stays done)",
)
def cancel_job(job_id: str, request: Request) -> Response:
    job = service.cancel(request.app.state.engine, parse_id("job_id", job_id))
    return json_response(service.job_document(job), 202)


def _cursor(request: Request, accepted: tuple[str, ...]) -> int:
    for name in request.query_params:
        if name not in accepted:
            raise InvalidInput(name, "no such parameter; this list takes cursor only")
    values = request.query_params.getlist("cursor")
    if not values:
        return 0
    raw = values[0]
    if len(values) > 1 or not raw.isascii() or not raw.isdigit() or int(raw[:20]) > INT64_MAX:
        raise InvalidInput("cursor", "one paging.cursor of the previous page", raw[:40])
    return int(raw)


def _paged(request: Request, document: dict[str, Any]) -> Response:
    cursor = document["paging"]["cursor"]
    links = {"next": page_url(request, cursor=cursor)} if cursor else {}
    return json_response(document, headers=link_header(links))
