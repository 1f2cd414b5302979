"""Every key's requests are counted, and only a key with a limit is refused: an unlimited key
shows its requests in `orderhub keys list` and on /metrics (issue 11, point 10). Its requests
are counted in memory and written in batches (no write on the read path), at the latest when
the server stops."""

from __future__ import annotations

import json
import subprocess
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, select

from helpers import api_key, auth_header, make_order, store
from orderhub.api.app import create_app
from orderhub.domain import ManualClock
from orderhub.services import keys as service
from orderhub.store import KeyRepository, make_engine
from orderhub.store.keys import key_usage
from process_support import ORDERHUB, fleet_of, start_server

NOON = datetime(2026, 3, 1, 12, tzinfo=UTC)


def new_key(engine: Engine, scopes: str = "orders:read") -> tuple[str, str]:
    """(name, token) of a new unlimited key."""
    name = f"free-{uuid.uuid4().hex[:8]}"
    return name, service.create_key(engine, name, service.parse_scopes(scopes)).token


def used_on(engine: Engine, name: str, day: date) -> int:
    listed = service.list_keys(engine, now=datetime.combine(day, NOON.timetz()))
    (row,) = [row for row in listed if row.key.name == name]
    return row.used_today


def admitted(engine: Engine, name: str) -> service.ApiKey:
    with engine.connect() as conn:
        stored = KeyRepository(conn).by_name(name)
    assert stored is not None
    return service.ApiKey(stored.id, stored.name, stored.scopes, stored.prefix)


def key_requests_metric(text: str, name: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "orderhub_api_key_requests_total" and sample.labels == {"key": name}:
                return sample.value
    raise AssertionError(f"no orderhub_api_key_requests_total for {name}")


def test_an_unlimited_keys_requests_are_counted_and_never_refused(engine: Engine) -> None:
    store(engine, [make_order("1")])
    name, token = new_key(engine)
    app = create_app(engine, clock=ManualClock(NOON))
    with TestClient(app, headers=auth_header(token)) as http:  # runs the app's lifespan
        answers = [http.get("/v1/orders").status_code for _ in range(30)]
        answers += [http.get("/v1/orders/999").status_code for _ in range(5)]
        answers += [http.get("/v1/webhooks").status_code for _ in range(2)]  # needs admin
        anonymous = http.get("/v1/orders", headers={"Authorization": ""})
    assert answers == [200] * 30 + [404] * 5 + [403] * 2
    assert anonymous.status_code == 401  # not counted: no key
    # Stopping the app wrote what its last second counted.
    assert used_on(engine, name, NOON.date()) == 37
    assert app.state.key_usage.pending == 0

    scraped = TestClient(create_app(engine)).get(
        "/metrics", headers=auth_header(api_key(engine, "metrics"))
    )
    assert key_requests_metric(scraped.text, name) == 37


def test_a_limited_key_is_still_counted_in_the_request_and_refused_past_its_limit(
    engine: Engine,
) -> None:
    name = f"capped-{uuid.uuid4().hex[:8]}"
    token = service.create_key(engine, name, ("orders:read",), daily_limit=3).token
    app = create_app(engine, clock=ManualClock(NOON))
    http = TestClient(app, headers=auth_header(token))  # no lifespan: nothing waits in memory
    assert [http.get("/v1/orders").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert used_on(engine, name, NOON.date()) == 4
    assert app.state.key_usage.pending == 0


def test_a_batch_adds_to_the_days_count_and_skips_a_deleted_key(engine: Engine) -> None:
    name, _ = new_key(engine)
    gone, _ = new_key(engine)
    key, gone_key = admitted(engine, name), admitted(engine, gone)
    tally = service.UsageTally()
    for _ in range(4):
        tally.add(key, NOON)
    tally.add(gone_key, NOON)
    service.revoke_key(engine, gone)
    service.create_key(engine, gone, ("orders:read",), replace=True)  # the old key is deleted
    assert tally.flush(engine) == 5
    tally.add(key, NOON)
    assert tally.flush(engine) == 1 and tally.flush(engine) == 0
    assert used_on(engine, name, NOON.date()) == 5
    assert used_on(engine, gone, NOON.date()) == 0
    with engine.connect() as conn:
        assert len(conn.execute(select(key_usage)).all()) == 1


def test_a_failed_write_keeps_the_counts_for_the_next_one(engine: Engine, tmp_path: Path) -> None:
    name, _ = new_key(engine)
    key = admitted(engine, name)
    tally = service.UsageTally()
    tally.add(key, NOON)
    tally.add(key, NOON)
    unreachable = make_engine(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")
    with pytest.raises(Exception, match="unable to open database file"):
        tally.flush(unreachable)
    assert tally.pending == 2
    tally.add(key, NOON)
    assert tally.flush(engine) == 3
    assert used_on(engine, name, NOON.date()) == 3


def test_served_by_two_workers_every_request_is_counted_and_keys_list_shows_it(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    """`orderhub serve --workers 2`: /metrics adds both workers' requests (prometheus-client's
    multiprocess mode), and SIGTERM writes the unlimited key's last counts before it exits."""
    name, token = new_key(engine)
    metrics_key = api_key(engine, "metrics")
    temp = tmp_path / "tmp"
    temp.mkdir()
    with fleet_of(database_url, tmp_path) as fleet:
        fleet.env["TMPDIR"] = str(temp)
        server, base_url = start_server(fleet)
        assert [p.name for p in temp.iterdir()] != []  # the workers' metrics directory

        def scrape() -> dict[str, float]:
            text = httpx.get(f"{base_url}/metrics", headers=auth_header(metrics_key)).text
            return {
                s.labels["status"]: s.value
                for f in text_string_to_metric_families(text)
                for s in f.samples
                if s.name == "orderhub_http_requests_total" and s.labels["route"] == "/v1/orders"
            }

        before = scrape()
        for _ in range(24):  # a new connection each: the two workers share them
            answer = httpx.get(f"{base_url}/v1/orders", headers=auth_header(token))
            assert answer.status_code == 200
        after = scrape()
        assert after.get("200", 0) - before.get("200", 0) == 24
        fleet.stop(server)
        assert server.returncode == 0, fleet.log("serve")
        assert list(temp.iterdir()) == []  # removed on exit
    listed = subprocess.run(
        [ORDERHUB, "keys", "list", "--json"],
        env=fleet.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    (row,) = [row for row in json.loads(listed.stdout) if row["name"] == name]
    assert row["daily_limit"] is None and row["used_today"] == 24
