"""The orders list in a real browser: filter it with the filter bar and save the view, export the
query as CSV and check its rows against the API, bulk-confirm a selection and see the results.
Expected values come from the API (an API key of services/keys.py) and the store's services."""

from __future__ import annotations

import csv
import io
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine

from orderhub.query import parse_query
from orderhub.services import jobs
from orderhub.services.keys import create_key, parse_scopes
from orderhub.services.orders import get_order, list_orders
from orderhub.services.outbox import Backoff, Topic, Worker

ROWS = "table.orders tbody tr[data-id]"


def api(hub: Any) -> httpx.Client:
    token = create_key(
        hub.engine, f"browser-{uuid.uuid4().hex[:8]}", parse_scopes("orders:read"), None
    ).token
    return httpx.Client(base_url=hub.base_url, headers={"Authorization": f"Bearer {token}"})


def busiest_open_channel(engine: Engine) -> str:
    found = list_orders(engine, parse_query([("status", "open"), ("page_size", "1000")]))
    return Counter(row["channel"] for row in found.rows).most_common(1)[0][0]


def shown_ids(page: Any) -> list[int]:
    return [int(i) for i in page.locator(ROWS).evaluate_all("rows => rows.map(r => r.dataset.id)")]


def test_filter_the_list_and_save_the_view(hub: Any, signed_in: Any, shot: Any) -> None:
    channel = busiest_open_channel(hub.engine)
    page = signed_in("staff")
    page.goto(hub.url("/orders"))
    page.get_by_label("Status", exact=True).select_option("open")
    page.get_by_label("Channel account").fill(channel)
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**/orders?status=open&channel=*")
    assert page.get_by_label("Query string (the API's query language)").input_value() == (
        f"status=open&channel={channel}"
    )
    filtered = shown_ids(page)
    with api(hub) as client:
        expected = client.get(
            "/v1/orders", params={"status": "open", "channel": channel, "page_size": "100"}
        ).json()["data"]
    assert filtered == [o["id"] for o in expected] and filtered
    # The count comes after the page (htmx): exact on SQLite below 10,000 matches.
    count = page.locator("#match-count strong")
    count.wait_for()
    assert count.inner_text() == str(len(filtered))
    assert page.locator("#scope-count").inner_text() == str(len(filtered))
    shot(page, "filtered")

    name = f"open-{channel}"
    page.get_by_label("Save this query as a view").fill(name)
    page.get_by_role("button", name="Save view").click()
    page.wait_for_url(f"**/orders?view={name}")
    sidebar = page.get_by_role("region", name="Presets and saved views")
    assert sidebar.get_by_role("link", name=name, exact=True).is_visible()
    assert shown_ids(page) == filtered
    shot(page, "view-saved")

    page.goto(hub.url("/orders"))
    page.get_by_role("link", name=name, exact=True).click()
    page.wait_for_url(f"**/orders?view={name}")
    assert shown_ids(page) == filtered


def test_a_wrong_typed_query_shows_the_apis_error(hub: Any, signed_in: Any, shot: Any) -> None:
    page = signed_in("viewer")
    page.goto(hub.url("/orders"))
    box = page.get_by_label("Query string (the API's query language)")
    box.fill("total=gt:lots")
    page.get_by_role("button", name="Run query").click()
    page.wait_for_url("**/orders?total=gt:lots")
    with api(hub) as client:
        detail = client.get("/v1/orders?total=gt:lots").json()["detail"]
    assert page.get_by_role("alert").inner_text() == detail
    shot(page, "wrong-query")


def test_export_csv_rows_equal_the_api(hub: Any, signed_in: Any, shot: Any, tmp_path: Path) -> None:
    page = signed_in("viewer")
    page.goto(hub.url("/orders?status=in:open,shipped&_sort=total:desc"))
    shot(page, "before-export")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.suffix == ".csv"
    rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"))))
    with api(hub) as client:
        theirs = client.get("/v1/orders.csv", params={"status": "in:open,shipped",
                                                      "_sort": "total:desc"})  # fmt: skip
    assert rows == list(csv.DictReader(io.StringIO(theirs.text)))
    assert len(rows) > 100  # more than the page shows: the export is the whole query


def run_worker(engine: Engine) -> None:
    """What `orderhub worker` does with a job (the API's tests run it the same way)."""
    Worker(engine, {jobs.TOPIC: Topic(jobs.JobRunner(engine), Backoff())}).run_until_idle(
        max_rounds=100
    )


def test_bulk_confirm_a_selection(hub: Any, signed_in: Any, shot: Any) -> None:
    page = signed_in("staff")
    page.goto(hub.url("/orders?preset=unconfirmed&_sort=id:asc"))
    chosen = shown_ids(page)[:3]
    assert len(chosen) == 3
    for order_id in chosen:
        page.get_by_label(f"Select order {order_id}", exact=True).check()
    shot(page, "selected")
    page.get_by_role("button", name="Preview").click()
    page.wait_for_url("**/orders/bulk")
    assert page.get_by_role("status").inner_text().startswith("3 orders will be confirmed")
    shot(page, "preview")
    page.get_by_role("button", name="Start").click()
    page.wait_for_url("**/orders/bulk/*")
    run_worker(hub.engine)
    results = page.locator("table.results tbody tr[data-id]")
    results.first.wait_for(timeout=10_000)  # htmx polls the page until the job is done
    assert sorted(int(i) for i in results.evaluate_all("r => r.map(x => x.dataset.id)")) == chosen
    assert results.locator("td.ok").all_inner_texts() == ["ok: changed"] * 3
    assert all(get_order(hub.engine, i).scalars["confirmed"] for i in chosen)
    shot(page, "results")
    page.get_by_role("link", name=str(chosen[0]), exact=True).wait_for()
