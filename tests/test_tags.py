"""Order tags (docs/tags.md) on SQLite and PostgreSQL: the tag routes and PUT's tag fields, the
JSON and XML documents, the `tags=` filter in lists, exports and bulk jobs, history and webhooks,
and that a sync never touches them.

Expected values are written here by hand from the orders below, never read back from the hub's
own encoders."""

from __future__ import annotations

import csv
import io
import json
import uuid
from typing import Any
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from helpers import auth_header, client, make_order, store
from orderhub.api.app import create_app
from orderhub.domain import Status
from orderhub.services import jobs
from orderhub.services.keys import create_key, parse_scopes
from orderhub.services.outbox import Backoff, Topic, Worker
from orderhub.store.events import EventRepository
from orderhub.store.tables import orders
from orderhub.store.tags import order_tags
from orderhub.store.webhooks import filter_predicate
from webhook_support import allow_private  # noqa: F401

EXTERNAL_IDS = ("a", "b", "c", "d")


@pytest.fixture
def key_name() -> str:
    return f"ops-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def http(engine: Engine, key_name: str) -> TestClient:
    store(engine, [make_order(ext, status=Status.OPEN) for ext in EXTERNAL_IDS])
    token = create_key(engine, key_name, parse_scopes("orders:read,orders:write"), None).token
    return TestClient(create_app(engine), headers=auth_header(token))


def ids(http: TestClient) -> dict[str, int]:
    found = http.get("/v1/orders", params={"page_size": 100}).json()["data"]
    return {o["external_id"]: o["id"] for o in found}


def listed(http: TestClient, query: str) -> list[str]:
    """External ids of the orders the list answers for `query`, in id order."""
    answer = http.get(f"/v1/orders?{query}&page_size=100")
    assert answer.status_code == 200, answer.text
    return [o["external_id"] for o in answer.json()["data"]]


def stored_rows(engine: Engine) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        stmt = select(order_tags.c.order_id, order_tags.c.tag)
        return sorted((row.order_id, row.tag) for row in conn.execute(stmt))


def tag(http: TestClient, order_id: int, *tags: str, method: str = "POST") -> Any:
    return http.request(method, f"/v1/orders/{order_id}/tags", json={"tags": list(tags)})


def test_add_replace_and_remove_tags(http: TestClient, engine: Engine) -> None:
    a = ids(http)["a"]
    etag = http.get(f"/v1/orders/{a}").headers["etag"]
    added = http.post(
        f"/v1/orders/{a}/tags", json={"tags": ["VIP", "gift", "vip"]}, headers={"If-Match": etag}
    )
    assert added.status_code == 200, added.text
    assert added.json()["tags"] == ["gift", "vip"]  # lowered, each once, sorted
    assert added.headers["etag"] != etag
    assert http.get(f"/v1/orders/{a}").json()["tags"] == ["gift", "vip"]

    again = tag(http, a, "vip")  # already there: nothing changes, not even the version
    assert again.json()["tags"] == ["gift", "vip"]
    assert again.headers["etag"] == added.headers["etag"]

    replaced = tag(http, a, "wholesale", "q4:2026", method="PUT")
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["tags"] == ["q4:2026", "wholesale"]

    removed = http.delete(f"/v1/orders/{a}/tags/Q4:2026")
    assert removed.status_code == 200, removed.text
    assert removed.json()["tags"] == ["wholesale"]
    assert http.delete(f"/v1/orders/{a}/tags/nope").json()["tags"] == ["wholesale"]
    assert stored_rows(engine) == [(a, "wholesale")]

    cleared = tag(http, a, method="PUT")
    assert cleared.json()["tags"] == []
    assert stored_rows(engine) == []


def test_put_order_takes_tags_and_the_history_and_webhook_event_say_so(
    http: TestClient, engine: Engine, key_name: str
) -> None:
    a = ids(http)["a"]
    before = http.get(f"/v1/orders/{a}").json()
    answer = http.put(f"/v1/orders/{a}", json={"add_tags": ["rush"], "vendor_ref": "PO-9"})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["tags"], answer.json()["vendor_ref"]) == (["rush"], "PO-9")
    answer = http.put(f"/v1/orders/{a}", json={"remove_tags": ["rush"], "add_tags": ["late"]})
    assert answer.json()["tags"] == ["late"]
    history = http.get(f"/v1/orders/{a}/history").json()["history"]
    tag_changes = [(h["old"], h["new"], h["actor"]) for h in history if h["field"] == "tags"]
    assert tag_changes == [([], ["rush"], key_name), (["rush"], ["late"], key_name)]
    with engine.connect() as conn:
        recorded = EventRepository(conn).for_order(a)
    last = recorded[-1]
    assert last["type"] == "order.updated"
    assert last["data"]["changes"] == [{"field": "tags", "old": ["rush"], "new": ["late"]}]
    # Tags only: the version moves, updated_at (what channel reports are compared with) not.
    only_tags = http.get(f"/v1/orders/{a}").json()
    assert only_tags["updated_at"] == answer.json()["updated_at"]
    assert before["updated_at"] != only_tags["updated_at"]  # the vendor_ref change stamped it


def test_tags_only_change_keeps_updated_at(http: TestClient) -> None:
    a = ids(http)["a"]
    before = http.get(f"/v1/orders/{a}")
    after = tag(http, a, "vip")
    assert after.json()["push_status"] is None  # nothing goes to the channel for tags
    assert after.json()["updated_at"] == before.json()["updated_at"] == "2024-01-10T08:30:00Z"
    assert after.headers["etag"] != before.headers["etag"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"tags": ["has space"]}, "tags"),
        ({"tags": ["-dash-first"]}, "tags"),
        ({"tags": ["x" * 51]}, "tags"),
        ({"tags": ["čeština"]}, "tags"),
        ({"tags": [""]}, "tags"),
        ({"tags": [7]}, "tags"),
        ({"tags": "vip"}, "tags"),
        ({"tags": [f"t{i}" for i in range(21)]}, "tags"),
        ({"tags": ["vip"], "colour": "red"}, "colour"),
        ({}, "body"),
    ],
)
def test_a_bad_tag_is_a_400_naming_it_and_changes_nothing(
    http: TestClient, engine: Engine, body: Any, expected: str
) -> None:
    a = ids(http)["a"]
    tag(http, a, "keep")
    before = http.get(f"/v1/orders/{a}")
    for method in ("PUT", "POST"):
        answer = http.request(method, f"/v1/orders/{a}/tags", json=body)
        assert answer.status_code == 400, answer.text
        problem = answer.json()
        assert problem["errors"][0]["parameter"] == expected, problem
        if expected == "tags":
            assert "a-z, 0-9" in problem["detail"] or "at most 20" in problem["detail"], problem
    after = http.get(f"/v1/orders/{a}")
    assert (after.headers["etag"], after.json()["tags"]) == (before.headers["etag"], ["keep"])
    assert stored_rows(engine) == [(a, "keep")]


def test_more_than_twenty_tags_on_an_order_is_refused(http: TestClient) -> None:
    a = ids(http)["a"]
    assert tag(http, a, *[f"t{i:02d}" for i in range(20)], method="PUT").status_code == 200
    answer = tag(http, a, "one-more")
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"][0]["parameter"] == "tags"
    assert "at most 20 tags on an order (this change would leave 21)" in answer.json()["detail"]
    assert len(http.get(f"/v1/orders/{a}").json()["tags"]) == 20
    assert http.delete(f"/v1/orders/{a}/tags/has%20space").status_code == 400


def test_filters_on_tags_in_lists(http: TestClient) -> None:
    known = ids(http)
    tag(http, known["a"], "vip", "gift")
    tag(http, known["b"], "vip")
    tag(http, known["c"], "wholesale")
    assert listed(http, "tags=eq:vip") == ["a", "b"]
    assert listed(http, "tags=vip") == ["a", "b"]
    assert listed(http, "tags=eq:VIP") == ["a", "b"]
    assert listed(http, "tags=in:gift,wholesale") == ["a", "c"]
    assert listed(http, "tags=neq:vip") == ["c", "d"]
    assert listed(http, "tags=nin:vip,wholesale") == ["d"]
    assert listed(http, "tags=$null") == ["d"]
    assert listed(http, "tags=neq:$null") == ["a", "b", "c"]
    assert listed(http, "tags=eq:vip&tags=eq:gift") == ["a"]  # filters combine with AND
    assert listed(http, "tags=eq:vip&external_id=b") == ["b"]
    # Paging by cursor across a tag filter keeps to the filter.
    first = http.get("/v1/orders?tags=neq:$null&page_size=2").json()
    assert [o["external_id"] for o in first["data"]] == ["a", "b"]
    rest = http.get(f"/v1/orders?tags=neq:$null&page_size=2&cursor={first['paging']['cursor']}")
    assert [o["external_id"] for o in rest.json()["data"]] == ["c"]
    assert first["paging"]["total"] == 3


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("tags=bt:a,b", "a modifier eq, neq, in, nin for a set field"),
        ("tags=gt:a", "a modifier eq, neq, in, nin for a set field"),
        ("tags=eq:has%20space", "a tag: 1 to 50 characters"),
        ("tags=in:ok,-bad", "a tag: 1 to 50 characters"),
        ("_sort=tags", "field[:asc|:desc] with a known field"),
    ],
)
def test_bad_tag_filters_are_400s_naming_the_parameter(
    http: TestClient, query: str, expected: str
) -> None:
    answer = http.get(f"/v1/orders?{query}")
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"][0]["parameter"] == query.split("=")[0]
    assert expected in answer.json()["detail"]


def test_xml_detail_and_list_carry_tags(http: TestClient) -> None:
    a = ids(http)["a"]
    tag(http, a, "vip", "gift")
    detail = ElementTree.fromstring(http.get(f"/v1/orders/{a}.xml").content)
    assert [t.text for t in detail.findall("./tags/tag")] == ["gift", "vip"]
    listing = ElementTree.fromstring(http.get("/v1/orders.xml?tags=vip").content)
    assert [t.text for t in listing.findall("./data/order/tags/tag")] == ["gift", "vip"]
    untagged = ElementTree.fromstring(http.get("/v1/orders.xml?external_id=b").content)
    element = untagged.find("./data/order/tags")
    assert element is not None and list(element) == [] and element.get("nil") is None


def test_exports_have_a_tags_column_and_filter_by_tag(http: TestClient) -> None:
    known = ids(http)
    tag(http, known["a"], "vip", "gift")
    tag(http, known["c"], "vip")
    text = http.get("/v1/orders.csv?tags=vip&fields=external_id,tags").text
    assert list(csv.reader(io.StringIO(text))) == [
        ["external_id", "tags"],
        ["a", "gift, vip"],
        ["c", "vip"],
    ]
    lines = http.get("/v1/orders.ndjson?tags=$null&fields=external_id,tags").text.splitlines()
    assert [json.loads(line) for line in lines] == [
        {"external_id": "b", "tags": []},
        {"external_id": "d", "tags": []},
    ]
    default = http.get("/v1/orders.csv?external_id=a").text.splitlines()
    assert "vendor_ref,tags,lines" in default[0]
    assert default[1].endswith(',"gift, vip",')  # the tags, then no lines


def run_worker(engine: Engine) -> None:
    worker = Worker(engine, {jobs.TOPIC: Topic(jobs.JobRunner(engine), Backoff())})
    worker.run_until_idle(max_rounds=100)


def test_bulk_tag_by_query_then_list_by_tag(http: TestClient, engine: Engine) -> None:
    known = ids(http)
    tag(http, known["b"], "review")  # already tagged: unchanged by the job
    dry = http.post(
        "/v1/orders/bulk",
        json={"query": "external_id=in:a,b,c", "action": "tag", "value": "Review", "dry_run": True},
    )
    assert dry.json() == {"dry_run": True, "matched": 3}
    assert listed(http, "tags=eq:review") == ["b"]  # the dry run changed nothing
    answer = http.post(
        "/v1/orders/bulk",
        json={"query": "external_id=in:a,b,c", "action": "tag", "value": "Review"},
    )
    assert answer.status_code == 202, answer.text
    assert (answer.json()["action"], answer.json()["value"]) == ("tag", "review")
    run_worker(engine)
    done = http.get(f"/v1/jobs/{answer.json()['id']}").json()
    assert (done["matched"], done["changed"], done["unchanged"], done["failed"]) == (3, 2, 1, 0)
    assert listed(http, "tags=eq:review") == ["a", "b", "c"]

    untag = http.post(
        "/v1/orders/bulk", json={"query": "tags=eq:review", "action": "untag", "value": "review"}
    )
    assert untag.status_code == 202, untag.text
    run_worker(engine)
    done = http.get(f"/v1/jobs/{untag.json()['id']}").json()
    assert (done["matched"], done["changed"], done["unchanged"]) == (3, 3, 0)
    assert listed(http, "tags=$null") == ["a", "b", "c", "d"]


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({"ids": [1], "action": "tag"}, "value"),
        ({"ids": [1], "action": "tag", "value": "two words"}, "value"),
        ({"ids": [1], "action": "untag", "value": 7}, "value"),
        ({"query": "tags=bt:a,b", "action": "tag", "value": "x"}, "tags"),
    ],
)
def test_bad_bulk_tag_requests_are_400s(http: TestClient, body: Any, parameter: str) -> None:
    answer = http.post("/v1/orders/bulk", json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"][0]["parameter"] == parameter
    assert http.get("/v1/jobs").json()["data"] == []


def subscribe(admin: TestClient, where: str) -> Any:
    body = {"url": "http://127.0.0.1:9/hook", "event_types": ["order.updated"], "filter": where}
    return admin.post("/v1/webhooks", json=body)


@pytest.mark.usefixtures("allow_private")
def test_a_webhook_filter_can_name_tags(http: TestClient, engine: Engine) -> None:
    known = ids(http)
    tag(http, known["b"], "vip")
    admin = client(engine)
    created = subscribe(admin, "tags=vip")
    assert created.status_code == 201, created.text
    assert created.json()["filter"] == "tags=vip"
    with engine.connect() as conn:
        stmt = select(orders.c.external_id).where(filter_predicate("tags=in:vip,none"))
        assert sorted(conn.execute(stmt).scalars()) == ["b"]
    refused = subscribe(admin, "tags=gt:a")
    assert refused.status_code == 400, refused.text
    assert refused.json()["errors"][0]["parameter"] == "filter"
