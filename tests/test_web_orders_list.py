"""The orders list (/orders, web/orders_list.py) and its bulk actions (web/bulk.py) on SQLite and
PostgreSQL: what each query lists, against the hand-made orders below and against the API's own
answer to the same query string; errors, sorting, paging, presets, saved views, the CSV export,
bulk jobs, and what a viewer may not do."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from helpers import api_key, auth_header, make_order, store
from orderhub.domain import ChannelType, Status
from orderhub.domain.clock import ManualClock
from orderhub.services import jobs
from orderhub.services.outbox import Backoff, Topic, Worker
from orderhub.web.app import create_app
from web_support import sign_in

MALL, CDON = ("mall-cz", ChannelType.MALL), ("cdon-se", ChannelType.CDON)
#: external id -> (account, status, confirmed, customer, total, created day, ship date)
ORDERS: dict[str, tuple[Any, ...]] = {
    "m1": (MALL, Status.OPEN, False, "Adam", "120.00", 1, date(2024, 2, 9)),
    "m2": (MALL, Status.OPEN, True, "Bara", "80.50", 2, date(2024, 2, 10)),
    "m3": (MALL, Status.SHIPPED, True, "Cyril", "300.00", 3, date(2024, 2, 1)),
    "m4": (MALL, Status.BACKORDERED, False, "Dana", "45.00", 4, date(2024, 2, 5)),
    "m5": (MALL, Status.CANCELLED, False, "Emil", "60.00", 5, None),
    "c1": (CDON, Status.OPEN, False, "Filip", "999.99", 6, date(2024, 1, 30)),
    "c2": (CDON, Status.OPEN, True, "Gita", "15.00", 7, None),
    "c3": (CDON, Status.PARTIALLY_SHIPPED, True, "Hana", "250.00", 8, date(2024, 2, 8)),
    "c4": (CDON, Status.DELIVERED, True, "Ivan", "75.00", 9, date(2024, 1, 20)),
    "p1": (MALL, Status.PENDING, False, "Jan", "10.00", 10, date(2024, 2, 1)),  # hidden: pending
}
TEST_ORDER = "t1"  # an open, unconfirmed test order: hidden unless asked for
TODAY = datetime(2024, 2, 10, 12, 0, tzinfo=UTC)
ROW = re.compile(r'<tr data-id="(\d+)"')


def _order(ext: str, spec: tuple[Any, ...], test: bool = False) -> Any:
    (account, kind), status, confirmed, customer, total, day, ship = spec
    return make_order(
        ext,
        channel=account,
        channel_type=kind,
        status=status,
        confirmed=confirmed,
        customer=customer,
        total=Decimal(total),
        created_at=datetime(2024, 1, day, 9, 0, tzinfo=UTC),
        ship_date=ship,
        test=test,
    )


@pytest.fixture
def web(engine: Engine) -> TestClient:
    """A staff member signed in to the web UI over the hand-made orders."""
    orders = [_order(ext, spec) for ext, spec in ORDERS.items()]
    orders.append(_order(TEST_ORDER, ORDERS["m1"], test=True))
    store(engine, orders)
    http = TestClient(create_app(engine, ManualClock(TODAY)))
    sign_in(http, engine, "staff")
    return http


@pytest.fixture
def api(engine: Engine) -> dict[str, str]:
    return auth_header(api_key(engine))


def ext_ids(web: TestClient) -> dict[int, str]:
    """hub id -> external id, read through the API (test and pending orders included)."""
    found = web.get(
        "/v1/orders",
        params={"test": "in:0,1", "status": "neq:lost", "page_size": "100"},
        headers=auth_header(api_key(web.app.state.engine)),
    )
    return {o["id"]: o["external_id"] for o in found.json()["data"]}


def csrf_of(web: TestClient) -> str:
    """The signed-in user's CSRF token, as every page carries it (`<body data-csrf>`)."""
    found = re.search(r'<body data-csrf="([^"]+)"', web.get("/orders").text)
    assert found is not None
    return found[1]


def listed(page: str) -> list[int]:
    return [int(i) for i in ROW.findall(page)]


def api_ids(
    web: TestClient, api: dict[str, str], query: str, path: str = "/v1/orders"
) -> list[int]:
    answer = web.get(f"{path}?{query}", headers=api)
    assert answer.status_code == 200, answer.text
    return [o if isinstance(o, int) else o["id"] for o in answer.json()["data"]]


def named(web: TestClient, ids: list[int]) -> list[str]:
    names = ext_ids(web)
    return [names[i] for i in ids]


def test_filter_by_status_and_channel_lists_what_the_api_lists(
    web: TestClient, api: dict[str, str]
) -> None:
    query = "status=open&channel=mall-cz"
    answer = web.get(f"/orders?{query}")
    assert answer.status_code == 200, answer.text
    assert sorted(named(web, listed(answer.text))) == ["m1", "m2"]
    assert listed(answer.text) == api_ids(web, api, query)
    # The query string is shown for editing, and the JSON API link asks the same.
    assert f'value="{html.escape(query)}"' in answer.text
    assert f'href="/v1/orders?{html.escape(query)}"' in answer.text


def test_the_filter_bar_builds_the_query_language(web: TestClient, api: dict[str, str]) -> None:
    bar = {
        "status": "open",
        "payment_status": "",
        "channel": "cdon-se",
        "created_from": "2024-01-06",
        "created_to": "2024-01-07",
        "total_min": "10",
        "total_max": "",
        "field": "customer",
        "modifier": "neq",
        "value": "Gita",
    }
    built = web.get("/orders/filter", params=bar, follow_redirects=False)
    assert built.status_code == 303
    location = built.headers["location"]
    assert location == (
        "/orders?status=open&channel=cdon-se&created_at=bt:2024-01-06%2C2024-01-07"
        "&total=ge:10&customer=neq:Gita"
    )
    page = web.get(location).text
    assert named(web, listed(page)) == ["c1"]
    assert listed(page) == api_ids(web, api, location.partition("?")[2])
    # The bar shows the query it built; a second submit keeps what it does not show.
    assert '<option value="open" selected>' in page and 'value="cdon-se"' in page
    again = web.get(
        "/orders/filter", params=[("keep", "customer=neq:Gita"), ("q", "Filip")],
        follow_redirects=False,
    )  # fmt: skip
    assert again.headers["location"] == "/orders?customer=neq:Gita&q=Filip"


def test_a_typed_query_string_is_the_list(web: TestClient, api: dict[str, str]) -> None:
    typed = web.get("/orders/filter", params={"query": "?total=gt:100&_sort=total:desc"},
                    follow_redirects=False)  # fmt: skip
    assert typed.headers["location"] == "/orders?total=gt:100&_sort=total:desc"
    page = web.get(typed.headers["location"]).text
    assert named(web, listed(page)) == ["c1", "m3", "c3", "m1"]


@pytest.mark.parametrize("query", ["total=gt:cheap", "colour=red", "_sort=nope", "view=missing"])
def test_a_wrong_query_shows_the_apis_error_with_400(
    web: TestClient, api: dict[str, str], query: str
) -> None:
    answer = web.get(f"/orders?{query}")
    assert answer.status_code == 400
    problem = web.get(f"/v1/orders?{query}", headers=api).json()
    found = re.search(r'<p id="query-error" class="error" role="alert">([^<]*)</p>', answer.text)
    assert found is not None and html.unescape(found[1]) == problem["detail"]
    assert listed(answer.text) == []
    assert f'value="{html.escape(query)}"' in answer.text  # kept in the input to correct it


def test_column_headers_sort_both_ways(web: TestClient, api: dict[str, str]) -> None:
    first = web.get("/orders").text
    assert re.search(r'<th scope="col" aria-sort="ascending">\s*<a href="/orders\?_sort=id:desc"',
                     first)  # fmt: skip
    header = re.search(r'<th scope="col" class="num">\s*<a href="([^"]+)">Total', first)
    assert header is not None and header[1] == "/orders?_sort=total:asc"
    ascending = web.get(header[1]).text
    totals = [Decimal(ORDERS[x][4]) for x in named(web, listed(ascending))]
    assert totals == sorted(totals) and len(totals) == 9
    toggle = re.search(r'aria-sort="ascending" class="num">\s*<a href="([^"]+)"', ascending)
    assert toggle is not None and toggle[1] == "/orders?_sort=total:desc"
    descending = web.get(toggle[1]).text
    assert listed(descending) == api_ids(web, api, "_sort=total:desc")
    assert listed(descending) == listed(ascending)[::-1]


def test_cursor_paging_visits_every_order_once(web: TestClient, api: dict[str, str]) -> None:
    url: str | None = "/orders?_sort=customer:desc&page_size=2"
    seen: list[int] = []
    pages = 0
    while url is not None:
        page = web.get(html.unescape(url)).text
        seen += listed(page)
        pages += 1
        if pages == 2:
            previous = re.search(r'<a href="([^"]+)" rel="prev">Previous</a>', page)
            assert previous is not None
            assert listed(web.get(html.unescape(previous[1])).text) == seen[:2]
        found = re.search(r'<a href="([^"]+)" rel="next">Next</a>', page)
        url = found[1] if found else None
    assert pages == 5
    assert seen == api_ids(web, api, "_sort=customer:desc&page_size=100")
    assert sorted(named(web, seen)) == sorted(x for x in ORDERS if x != "p1")


def test_presets_unconfirmed_and_overdue(web: TestClient, api: dict[str, str]) -> None:
    unconfirmed = web.get("/orders?preset=unconfirmed").text
    assert sorted(named(web, listed(unconfirmed))) == ["c1", "m1", "m4", "m5"]
    assert sorted(listed(unconfirmed)) == sorted(
        api_ids(web, api, "page_size=100", "/v1/orders/unconfirmed")
    )
    # Overdue on 2024-02-10: open, backordered or partly shipped, ship date before that day.
    overdue = web.get("/orders?preset=overdue").text
    assert sorted(named(web, listed(overdue))) == ["c1", "c3", "m1", "m4"]
    assert (
        'href="/v1/orders?status=in:open%2Cbackordered%2Cpartially_shipped&amp;ship_date=lt:2024-02-10"'
        in overdue
    )
    narrowed = web.get("/orders?preset=overdue&channel=mall-cz").text
    assert sorted(named(web, listed(narrowed))) == ["m1", "m4"]
    assert web.get("/orders?preset=someday").status_code == 400


def test_save_open_and_delete_a_view(web: TestClient, api: dict[str, str]) -> None:
    csrf = csrf_of(web)
    page = web.get("/orders?status=open&_sort=total:desc").text
    query = re.search(r'name="query" value="([^"]*)">\s*<input type="hidden" name="back"\s+value'
                      r'="[^"]*">\s*<label for="view-name"', page)  # fmt: skip
    assert query is not None and html.unescape(query[1]) == "status=open&_sort=total:desc"
    form = {"csrf_token": csrf, "name": "open-by-total", "query": html.unescape(query[1]),
            "back": "status=open&_sort=total:desc"}  # fmt: skip
    saved = web.post("/orders/views", data=form, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == "/orders?view=open-by-total"
    assert web.get("/v1/views/open-by-total", headers=api).json()["query"] == form["query"]
    opened = web.get(saved.headers["location"]).text
    assert '<a href="/orders?view=open-by-total" aria-current="page">open-by-total</a>' in opened
    assert listed(opened) == api_ids(web, api, "status=open&_sort=total:desc")
    assert named(web, listed(opened)) == ["c1", "m1", "m2", "c2"]

    bad = web.post("/orders/views", data={**form, "name": "no spaces"})
    assert bad.status_code == 400
    problem = web.post("/v1/views", json={"name": "no spaces", "query": ""}, headers=api).json()
    shown = re.search(r'<p id="view-error" class="error" role="alert">([^<]*)</p>', bad.text)
    assert shown is not None and html.unescape(shown[1]) == problem["detail"]
    assert listed(bad.text) != []  # the list stays, with the error next to the name

    gone = web.post("/orders/views/open-by-total/delete",
                    data={"csrf_token": csrf, "back": "view=open-by-total"},
                    follow_redirects=False)  # fmt: skip
    assert gone.status_code == 303 and gone.headers["location"] == "/orders"
    assert web.get("/v1/views/open-by-total", headers=api).status_code == 404
    assert "open-by-total" not in web.get("/orders").text


def test_export_csv_rows_equal_the_apis(web: TestClient, api: dict[str, str]) -> None:
    answer = web.get("/orders/export.csv?status=in:open,shipped&_sort=total:desc&page_size=2")
    assert answer.status_code == 200
    assert answer.headers["content-disposition"].startswith("attachment; filename=orders-")
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    theirs = web.get("/v1/orders.csv?status=in:open,shipped&_sort=total:desc", headers=api)
    assert rows == list(csv.DictReader(io.StringIO(theirs.text)))
    assert [r["external_id"] for r in rows] == ["c1", "m3", "m1", "m2", "c2"]
    # The page links the export of its own query, paging left out.
    page = web.get("/orders?preset=overdue&page_size=2").text
    assert 'href="/orders/export.csv?preset=overdue&amp;page_size=2"' in page
    overdue = list(csv.DictReader(io.StringIO(web.get("/orders/export.csv?preset=overdue").text)))
    assert sorted(r["external_id"] for r in overdue) == ["c1", "c3", "m1", "m4"]


def run_worker(engine: Engine) -> None:
    """What `orderhub worker` does for jobs, as the API's own tests run it."""
    worker = Worker(engine, {jobs.TOPIC: Topic(jobs.JobRunner(engine), Backoff())})
    worker.run_until_idle(max_rounds=100)


def test_bulk_preview_counts_and_confirm_all_matching(web: TestClient, api: dict[str, str]) -> None:
    csrf = csrf_of(web)
    form = {"csrf_token": csrf, "scope": "query", "query": "confirmed=0&channel=mall-cz",
            "action": "confirm", "back": "preset=unconfirmed"}  # fmt: skip
    preview = web.post("/orders/bulk", data=form)
    assert preview.status_code == 200
    dry = web.post("/v1/orders/bulk", json={"query": form["query"], "action": "confirm",
                                            "dry_run": True}, headers=api)  # fmt: skip
    assert dry.json()["matched"] == 3  # m1, m4, m5: p1 is pending, t1 a test order
    assert "<strong>3</strong> orders will be confirmed" in preview.text
    assert web.get("/v1/jobs", headers=api).json()["data"] == []  # a preview makes no job

    started = web.post("/orders/bulk", data={**form, "step": "start"}, follow_redirects=False)
    assert started.status_code == 303
    job_url = started.headers["location"]
    running = web.get(job_url).text
    assert 'hx-trigger="every 1s"' in running  # polled until done
    run_worker(web.app.state.engine)
    done = web.get(job_url).text
    assert "hx-trigger" not in done
    outcomes = dict(re.findall(r'<tr data-id="(\d+)" data-outcome="(\w+)">', done))
    assert sorted(named(web, [int(i) for i in outcomes])) == ["m1", "m4", "m5"]
    assert set(outcomes.values()) == {"changed"}
    assert sorted(named(web, api_ids(web, api, "confirmed=0&page_size=100"))) == ["c1"]


def test_bulk_status_by_selection_reports_refusals_per_order(
    web: TestClient, api: dict[str, str]
) -> None:
    csrf = csrf_of(web)
    ids = {name: i for i, name in ext_ids(web).items()}
    chosen = [ids["m1"], ids["m5"], ids["c2"]]  # m5 is cancelled: no way to shipping
    form = {"csrf_token": csrf, "scope": "ids", "action": "status", "status": "shipping",
            "tag": "", "id": [str(i) for i in chosen]}  # fmt: skip
    preview = web.post("/orders/bulk", data=form)
    assert "<strong>3</strong> orders will be set to status shipping" in preview.text
    started = web.post("/orders/bulk", data={**form, "step": "start"}, follow_redirects=False)
    run_worker(web.app.state.engine)
    done = web.get(started.headers["location"]).text
    rows = re.findall(r'<tr data-id="(\d+)" data-outcome="(\w+)">\s*<td><a href="/orders/\d+">'
                      r'\d+</a></td>\s*<td[^>]*>[^<]*</td>\s*<td>([^<]*)</td>', done)  # fmt: skip
    result = {ext_ids(web)[int(i)]: (outcome, html.unescape(why)) for i, outcome, why in rows}
    assert result["m1"] == ("changed", "") and result["c2"] == ("changed", "")
    assert result["m5"][0] == "failed" and "cancelled" in result["m5"][1]
    statuses = {o["external_id"]: o["status"] for o in web.get(
        "/v1/orders?external_id=in:m1,m5,c2", headers=api).json()["data"]}  # fmt: skip
    assert statuses == {"m1": "shipping", "m5": "cancelled", "c2": "shipping"}
    refused = web.get(started.headers["location"] + "?refused=1").text
    assert named(web, listed_outcomes(refused)) == ["m5"]


def listed_outcomes(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-id="(\d+)" data-outcome=', page)]


def test_bulk_without_a_selection_or_a_value_shows_the_error(web: TestClient) -> None:
    csrf = csrf_of(web)
    none = web.post("/orders/bulk", data={"csrf_token": csrf, "scope": "ids", "action": "confirm"})
    assert none.status_code == 400 and 'id="selection-error"' in none.text
    assert "ids: expected a list of 1 to 100,000 order ids" in none.text
    ids = list(ext_ids(web))
    no_tag = web.post("/orders/bulk", data={"csrf_token": csrf, "scope": "ids", "action": "tag",
                                            "tag": "", "id": str(ids[0])})  # fmt: skip
    assert no_tag.status_code == 400 and 'id="value-error"' in no_tag.text
    assert "Start</button>" not in no_tag.text


def test_pick_list_of_the_selection(web: TestClient) -> None:
    csrf = csrf_of(web)
    sent = web.post("/orders/bulk/pick-list", data={"csrf_token": csrf, "id": ["3", "1"]},
                    follow_redirects=False)  # fmt: skip
    assert sent.status_code == 303 and sent.headers["location"] == "/orders/pick-list?id=3&id=1"


def test_a_viewer_sees_no_write_action_and_cannot_post(
    web: TestClient, api: dict[str, str]
) -> None:
    engine = web.app.state.engine
    staff_csrf = csrf_of(web)
    web.post("/orders/views", data={"csrf_token": staff_csrf, "name": "kept", "query": ""})
    viewer = sign_in(web, engine, "viewer")
    page = web.get("/orders")
    assert page.status_code == 200 and len(listed(page.text)) == 9
    for write in ('id="bulk"', 'name="id"', 'action="/orders/views"', "/delete"):
        assert write not in page.text
    ids = list(ext_ids(web))
    posts = [
        ("/orders/bulk", {"scope": "ids", "action": "confirm", "id": str(ids[0]), "step": "start"}),
        ("/orders/bulk/pick-list", {"id": str(ids[0])}),
        ("/orders/views", {"name": "mine", "query": "status=open"}),
        ("/orders/views/kept/delete", {}),
    ]
    for path, data in posts:
        answer = web.post(path, data={"csrf_token": viewer.csrf, **data}, follow_redirects=False)
        assert answer.status_code == 403, path
    assert web.get("/v1/jobs", headers=api).json()["data"] == []
    assert [v["name"] for v in web.get("/v1/views", headers=api).json()["data"]] == ["kept"]


def test_the_count_is_loaded_after_the_page_and_honest(web: TestClient) -> None:
    page = web.get("/orders?status=open&page_size=2").text
    loads = re.search(r'<span id="match-count" hx-get="([^"]+)" hx-trigger="load"', page)
    assert loads is not None and html.unescape(loads[1]) == "/orders/count?status=open&page_size=2"
    assert "showing 1\u20132" in page
    counted = web.get(html.unescape(loads[1])).text
    if web.app.state.engine.dialect.name == "sqlite":  # counted up to 10,000: exact here
        assert "<strong>4</strong> orders" in counted and "Count exactly" not in counted
    else:  # the planner's estimate, said as one
        assert re.search(r"<strong>about [0-9,]+</strong> orders", counted)
        assert 'href="/orders?status=open&amp;page_size=2&amp;count=exact"' in counted
    assert '<span id="scope-count" hx-swap-oob="true">' in counted  # the bulk bar's "All N"
    exact = web.get("/orders?status=open&count=exact").text
    assert re.search(r'<span id="match-count"><strong>4</strong> orders</span>', exact)


def test_the_generic_row_offers_every_field_and_modifier_of_the_language(web: TestClient) -> None:
    from orderhub.domain import QUERY_FIELDS
    from orderhub.query import OPERATORS

    page = web.get("/orders").text

    def options(select_id: str) -> list[str]:
        found = re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', page, re.S)
        assert found is not None
        return [v for v in re.findall(r'<option value="([^"]*)"', found[1]) if v]

    assert options("f-field") == list(QUERY_FIELDS) and "tags" in options("f-field")
    assert options("f-modifier") == list(OPERATORS) and "nbt" in options("f-modifier")
