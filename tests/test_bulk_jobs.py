"""Bulk jobs (POST /v1/orders/bulk, /v1/jobs) on SQLite and PostgreSQL: what they select, what
they change, their counts and failures, cancelling, and that no order is done twice.

Expected values are the hand-made orders below: which of them match, which transitions the
status table refuses (docs/api.md), never the hub's own answers fed back."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.pool import StaticPool

from helpers import auth_header, make_order, store
from orderhub.api.app import create_app
from orderhub.domain import Status
from orderhub.services import jobs
from orderhub.services.keys import create_key, parse_scopes
from orderhub.services.outbox import Backoff, Topic, Worker
from orderhub.store import UnitOfWork, make_engine
from orderhub.store.outbox import OutboxRepository

#: external id -> (status, confirmed, test order)
ORDERS = {
    "a": (Status.OPEN, False, False),
    "b": (Status.OPEN, False, False),
    "c": (Status.OPEN, True, False),
    "d": (Status.CANCELLED, False, False),
    "e": (Status.SHIPPED, True, False),
    "t": (Status.OPEN, False, True),  # a test order: hidden from queries by default
}


@pytest.fixture
def key_name() -> str:
    return f"ops-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def http(engine: Engine, key_name: str) -> TestClient:
    store(
        engine,
        [
            make_order(ext, status=status, confirmed=confirmed, test=test)
            for ext, (status, confirmed, test) in ORDERS.items()
        ],
    )
    token = create_key(engine, key_name, parse_scopes("orders:read,orders:write"), None).token
    return TestClient(create_app(engine), headers=auth_header(token))


def ids(http: TestClient) -> dict[str, int]:
    """external id -> hub id, read through the API (test orders included)."""
    found = http.get("/v1/orders", params={"test": "in:0,1", "page_size": 100}).json()["data"]
    return {o["external_id"]: o["id"] for o in found}


def order(http: TestClient, order_id: int) -> dict[str, Any]:
    return http.get(f"/v1/orders/{order_id}").json()


def run_worker(engine: Engine, rounds: int = 100) -> None:
    worker = Worker(engine, {jobs.TOPIC: Topic(jobs.JobRunner(engine), Backoff())})
    worker.run_until_idle(max_rounds=rounds)


def test_dry_run_counts_the_matching_orders_and_makes_no_job(http: TestClient) -> None:
    answer = http.post(
        "/v1/orders/bulk", json={"query": "confirmed=0", "action": "confirm", "dry_run": True}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"dry_run": True, "matched": 3}  # a, b, d: t is a test order
    assert http.get("/v1/jobs").json()["data"] == []


def test_confirm_by_query_changes_every_match_once(
    http: TestClient, engine: Engine, key_name: str
) -> None:
    known = ids(http)
    answer = http.post("/v1/orders/bulk", json={"query": "confirmed=0", "action": "confirm"})
    assert answer.status_code == 202, answer.text
    job = answer.json()
    assert answer.headers["location"] == f"/v1/jobs/{job['id']}"
    assert (job["status"], job["matched"], job["processed"]) == ("queued", 3, 0)
    assert job["selection"] == {"query": "confirmed=0"} and job["created_by"] == key_name

    run_worker(engine)

    done = http.get(f"/v1/jobs/{job['id']}").json()
    assert done["status"] == "finished" and done["finished_at"] is not None
    assert (done["processed"], done["changed"], done["unchanged"], done["failed"]) == (3, 3, 0, 0)
    assert [order(http, known[x])["confirmed"] for x in "abd"] == [True, True, True]
    assert order(http, known["t"])["confirmed"] is False  # not selected: a test order
    history = http.get(f"/v1/orders/{known['a']}/history").json()["history"]
    assert [h["actor"] for h in history if h.get("source") == "api"][-1:] == [key_name]


def test_status_by_ids_records_refusals_and_unknown_ids(http: TestClient, engine: Engine) -> None:
    known = ids(http)
    wanted = [known["a"], known["d"], known["e"], 9_000_000]
    answer = http.post(
        "/v1/orders/bulk", json={"ids": wanted, "action": "status", "value": "shipping"}
    )
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["id"]
    assert answer.json()["selection"] == {"ids": 4}

    run_worker(engine)

    done = http.get(f"/v1/jobs/{job_id}").json()
    assert (done["matched"], done["changed"], done["failed"]) == (4, 1, 3)
    assert order(http, known["a"])["status"] == "shipping"
    assert order(http, known["d"])["status"] == "cancelled"  # cancelled -> shipping refused
    assert order(http, known["e"])["status"] == "shipped"  # shipped -> shipping refused
    failures = http.get(f"/v1/jobs/{job_id}/failures").json()["data"]
    assert [f["order_id"] for f in failures] == sorted([known["d"], known["e"], 9_000_000])
    reasons = {f["order_id"]: f["reason"] for f in failures}
    assert "cancelled" in reasons[known["d"]] and "shipping" in reasons[known["d"]]
    assert "9000000" in reasons[9_000_000]


def test_vendor_ref_and_unchanged_orders(http: TestClient, engine: Engine) -> None:
    known = ids(http)
    body = {"ids": [known["a"], known["b"]], "action": "vendor_ref", "value": "WAVE-7"}
    first = http.post("/v1/orders/bulk", json=body).json()
    run_worker(engine)
    again = http.post("/v1/orders/bulk", json=body).json()
    run_worker(engine)
    assert http.get(f"/v1/jobs/{first['id']}").json()["changed"] == 2
    second = http.get(f"/v1/jobs/{again['id']}").json()
    assert (second["changed"], second["unchanged"]) == (0, 2)
    assert order(http, known["b"])["vendor_ref"] == "WAVE-7"


def test_the_same_idempotency_key_returns_the_same_job(http: TestClient) -> None:
    body = {"query": "confirmed=0", "action": "confirm"}
    first = http.post("/v1/orders/bulk", json=body, headers={"Idempotency-Key": "wave-1"})
    again = http.post("/v1/orders/bulk", json=body, headers={"Idempotency-Key": "wave-1"})
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    assert [j["id"] for j in http.get("/v1/jobs").json()["data"]] == [first.json()["id"]]
    other = http.post(
        "/v1/orders/bulk", json=body | {"dry_run": True}, headers={"Idempotency-Key": "wave-1"}
    )
    assert other.status_code == 409


def test_the_job_acts_on_what_matched_when_it_was_made(http: TestClient, engine: Engine) -> None:
    job = http.post("/v1/orders/bulk", json={"query": "confirmed=0", "action": "confirm"}).json()
    store(engine, [make_order("late", confirmed=False)])
    run_worker(engine)
    assert http.get(f"/v1/jobs/{job['id']}").json()["processed"] == 3
    late = ids(http)["late"]
    assert order(http, late)["confirmed"] is False


def test_cancel_stops_before_the_next_batch(http: TestClient, engine: Engine) -> None:
    known = ids(http)
    job = http.post("/v1/orders/bulk", json={"query": "confirmed=0", "action": "confirm"}).json()
    jobs.run_batch(engine, job["id"], size=1)  # the first order (lowest id) only
    cancelled = http.post(f"/v1/jobs/{job['id']}/cancel")
    assert cancelled.status_code == 202 and cancelled.json()["cancel_requested"] is True
    run_worker(engine)
    done = http.get(f"/v1/jobs/{job['id']}").json()
    assert (done["status"], done["processed"], done["changed"]) == ("cancelled", 1, 1)
    first, *rest = sorted(known[x] for x in "abd")
    assert order(http, first)["confirmed"] is True
    assert [order(http, i)["confirmed"] for i in rest] == [False, False]
    again = http.post(f"/v1/jobs/{job['id']}/cancel")
    assert again.status_code == 409 and "cancelled" in again.json()["detail"]


def test_a_failed_batch_leaves_nothing_half_done(
    http: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    known = ids(http)
    job = http.post("/v1/orders/bulk", json={"query": "confirmed=0", "action": "confirm"}).json()
    real = jobs.apply_update
    broken = max(known[x] for x in "abd")

    def crash_on_last(uow: Any, order_id: int, *args: Any) -> Any:
        if order_id == broken:
            raise RuntimeError("the worker dies here")
        return real(uow, order_id, *args)

    monkeypatch.setattr(jobs, "apply_update", crash_on_last)
    with pytest.raises(RuntimeError):
        jobs.run_batch(engine, job["id"])
    assert http.get(f"/v1/jobs/{job['id']}").json()["processed"] == 0
    assert [order(http, known[x])["confirmed"] for x in "abd"] == [False, False, False]

    monkeypatch.setattr(jobs, "apply_update", real)
    run_worker(engine)
    done = http.get(f"/v1/jobs/{job['id']}").json()
    assert (done["processed"], done["changed"]) == (3, 3)
    history = http.get(f"/v1/orders/{known['a']}/history").json()["history"]
    assert sum(1 for h in history if h.get("source") == "api") == 1


def test_a_batch_and_its_lease_run_with_a_small_page_cache_and_give_it_back(
    http: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memory flat in the job's size (docs/bulk-jobs.md, Figures): SQLite's page cache is
    4 MiB while the worker leases the job and while a batch acts, and the connection goes back
    to the pool with the read API's 64 MiB."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's page cache")
    http.post("/v1/orders/bulk", json={"query": "confirmed=0", "action": "confirm"})
    one = make_engine(engine.url.render_as_string(hide_password=False), poolclass=StaticPool)
    seen: list[tuple[str, int]] = []

    def watching(name: str, real: Any) -> Any:
        def watched(first: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append((name, first.conn.exec_driver_sql("PRAGMA cache_size").scalar()))
            return real(first, *args, **kwargs)

        return watched

    monkeypatch.setattr(jobs, "apply_update", watching("batch", jobs.apply_update))
    monkeypatch.setattr(OutboxRepository, "lease", watching("lease", OutboxRepository.lease))
    Worker(one, {jobs.TOPIC: Topic(jobs.JobRunner(one), Backoff())}).run_once(limit=1)
    assert seen == [("lease", -4096)] + [("batch", -4096)] * 3
    with one.connect() as conn:  # StaticPool: the batch's own connection
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -65536
    one.dispose()


def test_two_workers_share_a_job_and_do_each_order_once(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    store(engine, [make_order(f"n{i}", confirmed=False) for i in range(23)])
    http = TestClient(
        create_app(engine),
        headers=auth_header(
            create_key(engine, "two", parse_scopes("orders:read,orders:write"), None).token
        ),
    )
    job = jobs.submit(engine, jobs.parse_bulk({"query": "confirmed=0", "action": "confirm"}), "two")
    topics = {jobs.TOPIC: Topic(jobs.JobRunner(engine), Backoff())}
    one, two = Worker(engine, topics, "one"), Worker(engine, topics, "two")
    real = jobs.run_batch
    monkeypatch.setattr(jobs, "run_batch", lambda e, i, c: real(e, i, c, size=5))  # 5 batches
    for _ in range(10):
        one.run_once()
        two.run_once()
    done = jobs.get_job(engine, job.id)
    assert (done.status, done.processed, done.changed) == ("finished", 23, 23)
    with UnitOfWork(engine) as uow:
        updated = [
            e["order_id"]
            for i in range(1, 24)
            for e in uow.events.for_order(i)
            if e["type"] == "order.updated"
        ]
    assert sorted(updated) == list(range(1, 24))  # each order's change recorded once
    assert http.get("/v1/orders", params={"confirmed": "0"}).json()["paging"]["total"] == 0


def test_job_finished_is_sent_to_subscribers(http: TestClient, engine: Engine) -> None:
    from orderhub.services.webhooks import create_subscription

    create_subscription(engine, "https://hooks.example/jobs", ["job.finished"], allow_private=True)
    job = http.post("/v1/orders/bulk", json={"query": "confirmed=0", "action": "confirm"}).json()
    run_worker(engine)
    with UnitOfWork(engine) as uow:
        queued = [i for i in uow.outbox.list() if i.topic == "webhook"]
    assert [i.payload["type"] for i in queued] == ["job.finished"]
    import json

    body = json.loads(queued[0].payload["body"])
    assert (body["data"]["id"], body["data"]["status"], body["data"]["changed"]) == (
        job["id"],
        "finished",
        3,
    )


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ([1, 2], "body"),
        ({"ids": [1], "action": "confirm", "colour": "red"}, "colour"),
        ({"ids": [1]}, "action"),
        ({"ids": [1], "action": "delete"}, "action"),
        ({"ids": [1], "action": {}}, "action"),
        ({"ids": [1], "action": ["confirm"]}, "action"),
        ({"ids": [1], "action": "status"}, "value"),
        ({"ids": [1], "action": "status", "value": "teleported"}, "value"),
        ({"ids": [1], "action": "confirm", "value": "x"}, "value"),
        ({"ids": [1], "query": "status=open", "action": "confirm"}, "ids"),
        ({"action": "confirm"}, "ids"),
        ({"ids": "1,2", "action": "confirm"}, "ids"),
        ({"ids": [], "action": "confirm"}, "ids"),
        ({"ids": [0], "action": "confirm"}, "ids"),
        ({"ids": ["7"], "action": "confirm"}, "ids"),
        ({"ids": [True], "action": "confirm"}, "ids"),
        ({"ids": list(range(1, 100_002)), "action": "confirm"}, "ids"),
        ({"query": "status=open&page=2", "action": "confirm"}, "query"),
        ({"query": 5, "action": "confirm"}, "query"),
        ({"query": "colour=red", "action": "confirm"}, "colour"),
        ({"query": "status=open", "action": "confirm", "dry_run": "maybe"}, "dry_run"),
        ({"query": "status=open", "action": "confirm", "notify_user": 7}, "notify_user"),
    ],
)
def test_bad_requests_name_the_field_and_make_no_job(
    http: TestClient, body: Any, parameter: str
) -> None:
    answer = http.post("/v1/orders/bulk", json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"][0]["parameter"] == parameter
    assert http.get("/v1/jobs").json()["data"] == []


def test_jobs_need_the_write_scope_to_start_and_exist_to_be_read(
    http: TestClient, engine: Engine
) -> None:
    reader = create_key(engine, "reader", parse_scopes("orders:read"), None).token
    refused = http.post(
        "/v1/orders/bulk", json={"ids": [1], "action": "confirm"}, headers=auth_header(reader)
    )
    assert refused.status_code == 403
    assert http.get("/v1/jobs/424242").status_code == 404
    assert http.get("/v1/jobs/x").json()["errors"][0]["parameter"] == "job_id"
    assert http.put("/v1/orders/bulk", json={}).status_code == 405
