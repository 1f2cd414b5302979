"""What every process did together, read from the database at scrape time (docs/operations.md,
"Metrics"): syncs per account, sync lag, the outbox, webhook deliveries, e-mail, key usage.

A prometheus-client custom collector: `/metrics` registers one per scrape, so any number of API
processes and separate workers report the same numbers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from orderhub.domain.clock import SYSTEM_CLOCK, Clock
from orderhub.services.mail import TOPIC as MAIL_TOPIC
from orderhub.store import metrics as queries
from orderhub.store.outbox import OutboxStatus
from orderhub.store.webhooks import TOPIC as WEBHOOK_TOPIC

log = logging.getLogger(__name__)

#: Run states a run ends in; a "running" run is a gauge, not yet a finished run.
FINISHED = ("ok", "failed", "interrupted")
#: sync_runs column -> (metric name, help), each summed per account over every run.
_RUN_COUNTERS = {
    "requests": ("orderhub_sync_requests", "HTTP requests made to the channel by syncs."),
    "retries": ("orderhub_sync_retries", "Requests of syncs retried after a retriable failure."),
    "errors": ("orderhub_sync_errors", "Errors met by syncs (retried or not)."),
    "quarantined": ("orderhub_sync_quarantined", "Channel records syncs could not read."),
    "acknowledged": (
        "orderhub_sync_acknowledged",
        "Orders syncs acknowledged to the channel (the channel's own 'confirmed' flag).",
    ),
    "seconds": ("orderhub_sync_seconds", "Seconds spent in syncs."),
}
_ORDER_RESULTS = {"new": "orders_new", "changed": "orders_changed", "unchanged": "orders_unchanged"}


class DatabaseCollector:
    """Collects the database-derived metrics; on a database error, `orderhub_database_up 0`."""

    def __init__(self, engine: Engine, clock: Clock = SYSTEM_CLOCK) -> None:
        self.engine = engine
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "orderhub_database_up", "1 when the database answered this scrape's queries, else 0."
        )
        try:
            with self.engine.connect() as conn:
                runs = queries.run_totals(conn)
                successes = queries.last_successes(conn)
                groups = queries.outbox_groups(conn)
                keys = queries.key_requests(conn)
        except SQLAlchemyError as exc:
            log.warning("metrics: the database did not answer: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from sync_metrics(runs)
        never: dict[str, datetime | None] = {group.account: None for group in runs}
        yield from lag_metrics(never | successes, self.clock.now())
        yield from outbox_metrics(groups, self.clock.now())
        yield from key_metrics(keys)


def sync_metrics(runs: list[queries.RunTotals]) -> Iterator[Metric]:
    finished = CounterMetricFamily(
        "orderhub_sync_runs",
        "Finished sync runs, by account and status (ok, failed, interrupted).",
        labels=["account", "status"],
    )
    running = GaugeMetricFamily(
        "orderhub_sync_running", "Sync runs under way, by account.", labels=["account"]
    )
    orders = CounterMetricFamily(
        "orderhub_sync_orders",
        "Orders read by syncs, by account and result (new, changed, unchanged).",
        labels=["account", "result"],
    )
    sums = {
        column: CounterMetricFamily(name, text, labels=["account"])
        for column, (name, text) in _RUN_COUNTERS.items()
    }
    for account, totals in _by_account(runs).items():
        for status, count in totals.runs.items():
            if status in FINISHED:
                finished.add_metric([account, status], count)
        running.add_metric([account], totals.runs.get("running", 0))
        for result, column in _ORDER_RESULTS.items():
            orders.add_metric([account, result], totals.sums[column])
        for column, family in sums.items():
            family.add_metric([account], totals.sums[column])
    yield from (finished, running, orders, *sums.values())


class _AccountTotals:
    def __init__(self) -> None:
        self.runs: dict[str, int] = {}
        self.sums = dict.fromkeys(queries.RUN_SUMS, 0.0)


def _by_account(runs: list[queries.RunTotals]) -> dict[str, _AccountTotals]:
    accounts: dict[str, _AccountTotals] = {}
    for group in runs:
        totals = accounts.setdefault(group.account, _AccountTotals())
        totals.runs[group.status] = group.runs
        for name, value in group.sums.items():
            totals.sums[name] += value
    return accounts


def lag_metrics(successes: dict[str, datetime | None], now: datetime) -> Iterator[Metric]:
    """Per account with a run or a sync state: its last success, and the time since (+Inf
    when it never had one, so an alert on the lag fires for it too)."""
    last = GaugeMetricFamily(
        "orderhub_sync_last_success_timestamp_seconds",
        "When the account's last successful sync finished (Unix time).",
        labels=["account"],
    )
    lag = GaugeMetricFamily(
        "orderhub_sync_lag_seconds",
        "Seconds since the account's last successful sync finished (+Inf: never).",
        labels=["account"],
    )
    for account, at in sorted(successes.items()):
        if at is None:
            lag.add_metric([account], float("inf"))
            continue
        last.add_metric([account], at.timestamp())
        lag.add_metric([account], max((now - at).total_seconds(), 0.0))
    yield from (last, lag)


def outbox_metrics(groups: list[queries.OutboxGroup], now: datetime) -> Iterator[Metric]:
    rows = GaugeMetricFamily(
        "orderhub_outbox_rows", "Outbox rows, by topic and state.", labels=["topic", "state"]
    )
    age = GaugeMetricFamily(
        "orderhub_outbox_oldest_age_seconds",
        "Age of the oldest outbox row, by topic and state.",
        labels=["topic", "state"],
    )
    by_key = {(group.topic, group.state): group.rows for group in groups}
    for group in groups:
        rows.add_metric([group.topic, group.state], group.rows)
        oldest = max((now - group.oldest_created_at).total_seconds(), 0.0)
        age.add_metric([group.topic, group.state], oldest)
    yield from (rows, age)
    yield from _webhook_metrics(by_key)
    yield from _mail_metrics(by_key)


def _webhook_metrics(rows: dict[tuple[str, str], int]) -> Iterator[Metric]:
    done = CounterMetricFamily(
        "orderhub_webhook_deliveries",
        "Webhook deliveries settled, by outcome (delivered, failed: retries exhausted).",
        labels=["outcome"],
    )
    for outcome in (OutboxStatus.DELIVERED, OutboxStatus.FAILED):
        done.add_metric([outcome.value], rows.get((WEBHOOK_TOPIC, outcome.value), 0))
    pending = GaugeMetricFamily(
        "orderhub_webhook_deliveries_pending", "Webhook deliveries not yet delivered or given up."
    )
    pending.add_metric([], rows.get((WEBHOOK_TOPIC, OutboxStatus.PENDING.value), 0))
    yield from (done, pending)


def _mail_metrics(rows: dict[tuple[str, str], int]) -> Iterator[Metric]:
    sent = CounterMetricFamily("orderhub_emails_sent", "Customer e-mails handed to SMTP.")
    sent.add_metric([], rows.get((MAIL_TOPIC, OutboxStatus.DELIVERED.value), 0))
    failed = CounterMetricFamily("orderhub_emails_failed", "Customer e-mails given up on.")
    failed.add_metric([], rows.get((MAIL_TOPIC, OutboxStatus.FAILED.value), 0))
    pending = GaugeMetricFamily("orderhub_emails_pending", "Customer e-mails waiting to be sent.")
    pending.add_metric([], rows.get((MAIL_TOPIC, OutboxStatus.PENDING.value), 0))
    yield from (sent, failed, pending)


def key_metrics(used: dict[str, int]) -> Iterator[Metric]:
    family = CounterMetricFamily(
        "orderhub_api_key_requests",
        "Requests counted per API key (every key, limited or not), over the days kept.",
        labels=["key"],
    )
    for name, count in used.items():
        family.add_metric([name], count)
    yield family
