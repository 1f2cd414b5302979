"""Webhook secret rotation, verified the way a receiver does it: with the `standardwebhooks`
package, over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from standardwebhooks import Webhook, WebhookVerificationError
from typer.testing import CliRunner

from helpers import make_order, serve_in_thread
from orderhub.cli.main import app as cli
from orderhub.domain.clock import ManualClock
from orderhub.settings import get_settings
from webhook_support import Subscriber, allow_private, hub, merge, near_now  # noqa: F401

pytestmark = pytest.mark.usefixtures("allow_private")


@pytest.fixture
def clock() -> ManualClock:
    return near_now()


def subscribe(http: TestClient, url: str) -> dict[str, Any]:
    answer = http.post("/v1/webhooks", json={"url": url, "event_types": ["order.created"]})
    assert answer.status_code == 201, answer.text
    return answer.json()


def verifies(secret: str, request: Any) -> bool:
    try:
        Webhook(secret).verify(request.body, request.headers)
    except WebhookVerificationError:
        return False
    return True


def test_both_secrets_verify_during_the_grace_and_only_the_new_one_after(
    engine: Engine, clock: ManualClock
) -> None:
    http, worker = hub(engine, clock)
    subscriber = Subscriber()
    with serve_in_thread(subscriber) as base:
        old = subscribe(http, base + "/hook")["secret"]
        rotated = http.post(f"/v1/webhooks/{1}/rotate-secret", params={"grace_seconds": 120})
        assert rotated.status_code == 200, rotated.text
        new = rotated.json()["secret"]
        assert new != old and new.startswith("whsec_")
        until = datetime.fromisoformat(
            rotated.json()["previous_secret_until"].replace("Z", "+00:00")
        )
        assert until == clock.now() + timedelta(seconds=120)

        merge(engine, [make_order("1")])
        assert worker.run_until_idle() == 1
        clock.advance(timedelta(seconds=121))
        merge(engine, [make_order("2")])
        assert worker.run_until_idle() == 1
    during, after = subscriber.requests
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert (verifies(new, during), verifies(old, during)) == (True, True)
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert (verifies(new, after), verifies(old, after)) == (True, False)


def test_a_rotation_without_grace_signs_with_the_new_secret_alone(
    engine: Engine, clock: ManualClock
) -> None:
    http, worker = hub(engine, clock)
    subscriber = Subscriber()
    with serve_in_thread(subscriber) as base:
        sub = subscribe(http, base + "/hook")
        new = http.post(f"/v1/webhooks/{sub['id']}/rotate-secret?grace_seconds=0").json()["secret"]
        merge(engine, [make_order("1")])
        worker.run_until_idle()
    (request,) = subscriber.requests
    assert (verifies(new, request), verifies(sub["secret"], request)) == (True, False)
    shown = http.get(f"/v1/webhooks/{sub['id']}").json()
    assert "secret" not in shown and shown["previous_secret_until"] is not None


@pytest.mark.parametrize(
    ("query", "status", "parameter"),
    [
        ("grace_seconds=604801", 400, "grace_seconds"),
        ("grace_seconds=-1", 400, "grace_seconds"),
        ("grace_seconds=soon", 400, "grace_seconds"),
        ("grace=5", 400, "grace"),
    ],
)
def test_a_bad_grace_is_refused_and_changes_nothing(
    engine: Engine, clock: ManualClock, query: str, status: int, parameter: str
) -> None:
    http, _ = hub(engine, clock)
    sub = subscribe(http, "http://127.0.0.1:9/hook")
    answer = http.post(f"/v1/webhooks/{sub['id']}/rotate-secret?{query}")
    assert answer.status_code == status
    assert answer.json()["errors"][0]["parameter"] == parameter
    assert http.get(f"/v1/webhooks/{sub['id']}").json()["previous_secret_until"] is None


def test_an_unknown_subscription_is_404(engine: Engine, clock: ManualClock) -> None:
    http, _ = hub(engine, clock)
    assert http.post("/v1/webhooks/77/rotate-secret").status_code == 404


def test_the_cli_prints_the_new_secret_last(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch, clock: ManualClock
) -> None:
    monkeypatch.setenv("ORDERHUB_DATABASE_URL", database_url)
    get_settings.cache_clear()
    http, _ = hub(engine, clock)
    sub = subscribe(http, "http://127.0.0.1:9/hook")
    result = CliRunner().invoke(cli, ["webhooks", "rotate-secret", str(sub["id"]), "--grace", "60"])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    assert secret.startswith("whsec_") and secret != sub["secret"]
    assert http.get(f"/v1/webhooks/{sub['id']}").json()["previous_secret_until"] is not None
