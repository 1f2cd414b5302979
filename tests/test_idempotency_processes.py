"""Idempotency-Key across `orderhub serve --workers 2` (two server processes sharing nothing
but the database), on SQLite and PostgreSQL: clients racing with one key, each on a new
connection so both processes take a share, subscribe once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import Engine, text

from helpers import api_key, auth_header
from process_support import fleet_of, start_server

CLIENTS = 16
WAIT = 60  # seconds: only a bound on a hang


def test_racing_clients_through_two_server_processes_act_once(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    headers = {**auth_header(api_key(engine)), "Idempotency-Key": "race-processes"}
    body = {"url": "http://127.0.0.1:9/hook", "event_types": ["order.created"]}
    start = threading.Barrier(CLIENTS)
    with fleet_of(database_url, tmp_path) as fleet:
        fleet.env["ORDERHUB_WEBHOOKS_ALLOW_PRIVATE"] = "1"  # no DNS for the hook's address
        _, base_url = start_server(fleet)

        def subscribe(_: int) -> httpx.Response:
            start.wait(WAIT)
            # A client of its own: a new connection, which either server process may accept.
            return httpx.post(f"{base_url}/v1/webhooks", json=body, headers=headers, timeout=WAIT)

        with ThreadPoolExecutor(CLIENTS) as pool:
            answers = list(pool.map(subscribe, range(CLIENTS)))
        again = httpx.post(f"{base_url}/v1/webhooks", json=body, headers=headers, timeout=WAIT)
    fleet.assert_logs_clean()
    assert {a.status_code for a in answers} <= {201, 409}, [a.text for a in answers]
    created = [a for a in answers if a.status_code == 201]
    assert len([a for a in created if "idempotent-replayed" not in a.headers]) == 1
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert {a.content for a in created} == {again.content}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM webhook_subscriptions")).scalar_one() == 1
