"""Bulk jobs (POST /v1/orders/bulk, `orderhub orders bulk`): one action on many orders.

A job acts on the orders its ids or its query matched when it was made (store/jobs.py). Each
order gets the change `PUT /v1/orders/{id}` would give it, through the same code: the same
transition rules, history, events, push-back and e-mail. The worker runs a job as an outbox row
of topic "job", one batch per lease: a batch commits the orders' changes with the job's counts
and checkpoint, then the row is deferred to run the next batch at once. So jobs share the
outbox's leases (any number of workers, a dead worker's batch taken over) and a batch is never
done twice. The last batch sends `job.finished` to the webhooks subscribed to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy import Engine, func, select

from orderhub.domain import Conflict, InvalidInput, NotFound, OrderhubError, Status
from orderhub.domain.clock import SYSTEM_CLOCK, Clock
from orderhub.domain.events import JobEventType
from orderhub.domain.jsonfmt import dumps
from orderhub.domain.tags import TAG_FORM
from orderhub.query import OrderQuery, parse_query
from orderhub.query.parser import RESERVED, SEARCH
from orderhub.services.outbox import Backoff, Defer, register
from orderhub.services.update_request import OrderUpdate, parse_update
from orderhub.services.updates import apply_update
from orderhub.store import UnitOfWork
from orderhub.store.engine import small_cache
from orderhub.store.jobs import COUNTS, ItemOutcome, Job, JobRepository
from orderhub.store.search import compile_orders
from orderhub.store.tables import orders
from orderhub.store.webhook_fanout import enqueue_event

TOPIC = "job"
#: Orders per batch: one transaction, one lease of the job's outbox row.
BATCH = 500
#: The most ids one request may name (a query selects any number).
MAX_IDS = 100_000
#: The PUT body each action gives every order, from the request's `value`.
ACTIONS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "confirm": lambda _value: {"confirmed": True},
    "status": lambda value: {"status": value},
    "vendor_ref": lambda value: {"vendor_ref": value},
    "tag": lambda value: {"add_tags": [value]},
    "untag": lambda value: {"remove_tags": [value]},
}
_NEEDS_VALUE = {
    "status": "one of " + ", ".join(s.value for s in Status),
    "vendor_ref": "a text",
    "tag": "a tag: " + TAG_FORM,
    "untag": "a tag: " + TAG_FORM,
}
_FIELDS = ("ids", "query", "action", "value", "notify_user", "dry_run")


@dataclass(frozen=True, slots=True)
class BulkRequest:
    action: str
    value: Any
    update: OrderUpdate
    #: Exactly one of `ids` and `query` is set.
    ids: tuple[int, ...] | None
    query: OrderQuery | None
    query_text: str | None
    dry_run: bool

    def action_document(self) -> dict[str, Any]:
        document = {"action": self.action, "notify_user": self.update.notify_user}
        return document | ({"value": self.value} if self.action in _NEEDS_VALUE else {})

    def selection_document(self) -> dict[str, Any]:
        if self.ids is not None:
            return {"ids": len(self.ids)}
        return {"query": self.query_text}


class JobNotFound(NotFound):
    def __init__(self, job_id: int) -> None:
        super().__init__(f"job {job_id} does not exist")


class JobFinished(Conflict):
    """The job has ended: nothing is left to cancel."""

    def __init__(self, job: Job) -> None:
        super().__init__(f"job {job.id} is already {job.status}: nothing to cancel")


def parse_bulk(body: object) -> BulkRequest:
    """The body of POST /v1/orders/bulk, or InvalidInput naming the first bad field."""
    if not isinstance(body, dict):
        raise InvalidInput("body", "a JSON object with ids or query, and action")
    for name in body:
        if name not in _FIELDS:
            raise InvalidInput(name, "no such field; a bulk request has " + ", ".join(_FIELDS))
    action = body.get("action")
    if not isinstance(action, str) or action not in ACTIONS:
        raise InvalidInput("action", "one of " + ", ".join(ACTIONS), action)
    value = body.get("value")
    if action in _NEEDS_VALUE and "value" not in body:
        raise InvalidInput("value", f"the {action} to set: {_NEEDS_VALUE[action]}")
    if action not in _NEEDS_VALUE and "value" in body:
        raise InvalidInput("value", f"nothing: {action} takes no value")
    put = ACTIONS[action](value)
    put["notify_user"] = _boolean(body, "notify_user")
    update = _update(put)
    if action in ("tag", "untag"):
        value = (update.add_tags or update.remove_tags)[0]  # as stored: lowered
    dry_run = _boolean(body, "dry_run")
    if ("ids" in body) == ("query" in body):
        raise InvalidInput("ids", "exactly one of ids (a list of order ids) and query")
    if "ids" in body:
        return BulkRequest(action, value, update, _ids(body["ids"]), None, None, dry_run)
    text = body["query"]
    return BulkRequest(action, value, update, None, _query(text), text, dry_run)


def _boolean(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise InvalidInput(name, "true or false", value)
    return value


def _update(put: dict[str, Any]) -> OrderUpdate:
    """The PUT body's parse, with its errors named after the bulk request's fields."""
    try:
        return parse_update(put)
    except InvalidInput as exc:
        name = "notify_user" if exc.parameter == "notify_user" else "value"
        raise InvalidInput(name, exc.expected, exc.value) from None


def _ids(raw: object) -> tuple[int, ...]:
    expected = f"a list of 1 to {MAX_IDS:,} order ids (positive integers)"
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_IDS:
        raise InvalidInput("ids", expected, raw if not isinstance(raw, list) else None)
    ids = tuple(_whole(i) for i in raw)
    if not all(0 < i < 2**63 for i in ids):
        raise InvalidInput("ids", expected)
    return ids


def _whole(item: object) -> int:
    """A JSON integer; 7.0 is one too, as JSON Schema counts it."""
    if type(item) is int:
        return item
    if type(item) is float and item.is_integer():
        return int(item)
    return 0


def _query(text: object) -> OrderQuery:
    expected = "a query string of the list's filters, e.g. status=open&channel=mall-cz"
    if not isinstance(text, str) or len(text) > 8192:
        raise InvalidInput("query", expected, text if not isinstance(text, str) else None)
    params = parse_qsl(text, keep_blank_values=True)
    for name, _ in params:
        if name in RESERVED and name != SEARCH:
            raise InvalidInput("query", f"filters only ({name} does not apply: every match)")
    return parse_query(params)


def preview(engine: Engine, request: BulkRequest) -> int:
    """How many orders the job would act on now (dry_run)."""
    with engine.connect() as conn:
        if request.query is not None:
            where = compile_orders(request.query, conn).where
        else:
            where = orders.c.id.in_(sorted(set(request.ids or ())))
        return int(conn.execute(select(func.count()).select_from(orders).where(where)).scalar_one())


def submit(engine: Engine, request: BulkRequest, actor: str, clock: Clock = SYSTEM_CLOCK) -> Job:
    """Make the job with its orders, and queue it for the worker, in one transaction."""
    at = clock.now()
    with UnitOfWork(engine) as uow:
        repo = JobRepository(uow.conn)
        action, selection = request.action_document(), request.selection_document()
        job_id = repo.create(action, selection, actor, at)
        if request.query is not None:
            repo.add_matching(job_id, compile_orders(request.query, uow.conn).where)
        else:
            repo.add_ids(job_id, request.ids or (), at)
        uow.outbox.enqueue(TOPIC, {"job_id": job_id}, dedupe_key=f"job:{job_id}", at=at)
        job = repo.get(job_id)
    assert job is not None
    return job


def get_job(engine: Engine, job_id: int) -> Job:
    with engine.connect() as conn:
        if job := JobRepository(conn).get(job_id):
            return job
    raise JobNotFound(job_id)


def recent_jobs(engine: Engine, limit: int, before: int | None = None) -> list[Job]:
    with engine.connect() as conn:
        return JobRepository(conn).recent(limit, before)


def failures(engine: Engine, job_id: int, limit: int, after: int = 0) -> list[ItemOutcome]:
    return _done(engine, job_id, limit, after, failed_only=True)


def outcomes(engine: Engine, job_id: int, limit: int, after: int = 0) -> list[ItemOutcome]:
    """Every order the job has done so far (changed, unchanged or failed with the reason), in
    order-id order after order id `after` (the web's per-order results)."""
    return _done(engine, job_id, limit, after, failed_only=False)


def _done(
    engine: Engine, job_id: int, limit: int, after: int, *, failed_only: bool
) -> list[ItemOutcome]:
    with engine.connect() as conn:
        repo = JobRepository(conn)
        if repo.get(job_id) is None:
            raise JobNotFound(job_id)
        read = repo.failures if failed_only else repo.outcomes
        return read(job_id, limit, after)


def cancel(engine: Engine, job_id: int) -> Job:
    """Ask the job to stop before its next batch; JobFinished when it has already ended."""
    with UnitOfWork(engine) as uow:
        repo = JobRepository(uow.conn)
        job = repo.get_for_update(job_id)
        if job is None:
            raise JobNotFound(job_id)
        if job.finished_at is not None:
            raise JobFinished(job)
        repo.request_cancel(job_id)
        cancelling = repo.get(job_id)
    assert cancelling is not None
    return cancelling


def run_batch(engine: Engine, job_id: int, clock: Clock = SYSTEM_CLOCK, size: int = BATCH) -> Job:
    """Act on the job's next batch of orders (or end it); returns the job as it now stands.

    The batch runs with a small SQLite page cache (store.engine.small_cache): its orders are
    each read once, so the memory a job takes stays that of one batch, whatever its size."""
    with UnitOfWork(engine) as uow, small_cache(uow.conn):
        repo = JobRepository(uow.conn)
        job = repo.get_for_update(job_id)
        if job is None:
            raise JobNotFound(job_id)
        if job.finished_at is None:
            order_ids = [] if job.cancel_requested else repo.next_items(job, size)
            if order_ids:
                request = _stored_update(job)
                outcomes = [_act(uow, order_id, request, job.created_by) for order_id in order_ids]
                repo.record(job, outcomes, clock.now())
            else:
                _finish(uow, repo, job, clock)
        job = repo.get(job_id)
    assert job is not None
    return job


def _stored_update(job: Job) -> OrderUpdate:
    action = job.action
    put = ACTIONS[action["action"]](action.get("value"))
    return parse_update(put | {"notify_user": action["notify_user"]})


def _act(uow: UnitOfWork, order_id: int, update: OrderUpdate, actor: str) -> ItemOutcome:
    """One order's change, as PUT would make it; a refusal is the item's outcome, not an error
    (each refusal is raised before the change writes anything)."""
    try:
        result = apply_update(uow, order_id, update, actor, None)
    except OrderhubError as exc:
        return ItemOutcome(order_id, "failed", str(exc))
    return ItemOutcome(order_id, "changed" if result.changes else "unchanged")


def _finish(uow: UnitOfWork, repo: JobRepository, job: Job, clock: Clock) -> None:
    at = clock.now()
    repo.finish(job.id, "cancelled" if job.cancel_requested else "finished", at)
    ended = repo.get(job.id)
    assert ended is not None
    event_id = f"evt_job_{job.id}_finished"
    envelope = {
        "id": event_id,
        "type": str(JobEventType.FINISHED),
        "timestamp": at,
        "data": job_document(ended),
    }
    enqueue_event(uow.conn, str(JobEventType.FINISHED), event_id, dumps(envelope), at)


def job_document(job: Job) -> dict[str, Any]:
    """A job as the API, the CLI and `job.finished` show it."""
    return {
        "id": job.id,
        "status": job.status,
        **job.action,
        "selection": job.selection,
        **{name: getattr(job, name) for name in COUNTS},
        "cancel_requested": job.cancel_requested,
        "created_by": job.created_by,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


class JobRunner:
    """The outbox handler of topic "job": one batch per call, deferred until the job ends."""

    def __init__(self, engine: Engine, clock: Clock = SYSTEM_CLOCK) -> None:
        self.engine = engine
        self.clock = clock

    def __call__(self, item: Any) -> None:
        job = run_batch(self.engine, int(item.payload["job_id"]), self.clock)
        if job.finished_at is None:
            raise Defer(f"{job.processed} of {job.matched} done", after=0)


def install(engine: Engine, clock: Clock = SYSTEM_CLOCK) -> None:
    """Register the job runner for `orderhub worker` (services.outbox.TOPICS)."""
    register(TOPIC, JobRunner(engine, clock), Backoff(first=5.0, cap=600.0, attempts=20))
