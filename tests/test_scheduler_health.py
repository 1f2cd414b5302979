"""The scheduler and sync health together: the API shows the scheduler's own due time (a
failed run's retry, not an interval later), and a worker's scheduler tells subscribers once
when an account it syncs becomes overdue."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

import test_sync_health
from orderhub.services.scheduler import Scheduler
from test_sync_health import Hub
from webhook_support import allow_private  # noqa: F401  (the fixture)

pytestmark = pytest.mark.usefixtures("allow_private")
hub = test_sync_health.hub  # the fixture: a MALL sandbox, its config, a clock, API, worker

INTERVAL = 60  # the account's sync_interval in test_sync_health's orderhub.toml
RETRY = 7.0  # the first retry after a failure, chosen here: below the interval


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_the_api_shows_the_schedulers_due_time_after_a_failure(hub: Hub) -> None:
    hub.monkeypatch.setenv("HEALTH_MALL_CLIENT_ID", "wrong")
    scheduler = Scheduler(hub.engine, [hub.config], clock=hub.clock, retry_base=RETRY)
    (outcome,) = scheduler.run_due()
    assert outcome.status == "failed"
    channel = hub.channel()
    assert channel["consecutive_failures"] == 1
    assert at(channel["next_due_at"]) == hub.clock.now() + timedelta(seconds=RETRY)


def test_a_worker_scheduler_sends_channel_overdue_once_per_episode(hub: Hub) -> None:
    hub.monkeypatch.setenv("HEALTH_MALL_CLIENT_ID", "wrong")
    scheduler = Scheduler(hub.engine, [hub.config], clock=hub.clock, retry_base=RETRY)
    scheduler.run_due()
    assert hub.delivered("channel.overdue") == []
    for _ in range(4):  # past three intervals without a success, retrying at each due time
        hub.clock.advance(INTERVAL)
        scheduler.run_due()
    assert hub.channel()["overdue"] is True
    hub.clock.advance(INTERVAL)
    scheduler.run_due()
    overdue = hub.delivered("channel.overdue")
    assert len(overdue) == 1, overdue
    assert overdue[0]["data"]["channel"] == hub.config.name
