"""`orderhub sync`, `orderhub channels list`, `orderhub quarantine list`."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from orderhub.cli.common import console, engine_from_settings, migrated_engine
from orderhub.cli.errors import ChannelRefused, UsageError
from orderhub.domain.jsonfmt import dumps, fields_document
from orderhub.services import channels as accounts
from orderhub.services.cursor_zones import zoned_cursor
from orderhub.services.sync import SyncProgress, SyncResult, sync_account
from orderhub.services.sync_health import SyncHealth
from orderhub.settings import get_settings
from orderhub.store import upgrade

channels_app = typer.Typer(help="Channel accounts (orderhub.toml) and their sync state.")
quarantine_app = typer.Typer(help="Channel records that could not be decoded.")


def sync(
    channel: str | None = typer.Option(None, "--channel", "-c", help="Only this account."),
    full: bool = typer.Option(False, "--full", help="Re-read every order, not just changes."),
) -> None:
    """Pull orders from the configured channel accounts into the hub."""
    configs = accounts.select_configs(_configs(), channel)
    selected = [config.account() for config in configs]
    if not selected:
        raise UsageError(_no_accounts(get_settings().config_file))
    engine = engine_from_settings()
    upgrade(engine)
    # A failed run is reported below, once; the service's log line would say it twice.
    logging.getLogger("orderhub.services.sync").setLevel(logging.ERROR)
    results = []
    with _progress() as progress:
        for account in selected:
            bar = _SyncBar(progress, account.name)
            results.append(sync_account(engine, account, full=full, progress=bar.update))
            bar.done()
    refused = [r for r in results if not r.ok and _REFUSED.search(r.error or "")]
    for result in results:
        if result not in refused:
            _report(result)
    if refused:
        raise ChannelRefused(_refusal(refused, configs))
    if not all(result.ok for result in results):
        raise typer.Exit(1)


#: How a channel's answer to refused credentials shows in a run's error (channels/http.py).
_REFUSED = re.compile(r"\bHTTP 40[13]\b")


def _refusal(refused: list[SyncResult], configs: list[accounts.ChannelConfig]) -> str:
    variables = {c.name: ", ".join(c.credentials_env.values()) for c in configs}
    return "; ".join(
        f"channel account {r.channel!r} refused the credentials ({r.error}): "
        f"check {variables.get(r.channel) or 'its credentials'}"
        for r in refused
    )


def _no_accounts(config_file: str) -> str:
    path = Path(config_file)
    if not path.exists():
        where = f"there is no {config_file} (looked in {path.resolve().parent})"
        return f"{where}: write one, or set ORDERHUB_CONFIG_FILE (docs/channels.md)"
    return f"no channel accounts ([[channels]]) in {config_file} (docs/channels.md)"


class _SyncBar:
    """One account's rich progress task: orders (of the channel's total), requests, rate."""

    def __init__(self, progress: Progress, name: str) -> None:
        self.progress = progress
        self.task: TaskID = progress.add_task(name, total=None, requests=0, rate=0.0)

    def update(self, event: SyncProgress) -> None:
        orders = event.counts.orders
        elapsed = self.progress.tasks[self.task].elapsed or 1e-9
        total = max(event.total, orders) if event.total is not None else None
        self.progress.update(
            self.task,
            completed=orders,
            total=total,
            requests=event.counts.requests,
            rate=orders / elapsed,
        )

    def done(self) -> None:
        task = self.progress.tasks[self.task]
        self.progress.update(self.task, total=task.completed)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("orders"),
        TextColumn("{task.fields[requests]:>6} requests"),
        TextColumn("{task.fields[rate]:>8.0f} orders/s"),
        TimeElapsedColumn(),
        console=console,
    )


def _report(result: SyncResult) -> None:
    c = result.counts
    per_1000 = "-" if c.requests_per_1000 is None else f"{c.requests_per_1000:g}"
    line = (
        f"{result.channel}: [bold]{result.status}[/] {c.orders_new} new, {c.orders_changed} "
        f"changed, {c.orders_unchanged} unchanged, {c.quarantined} quarantined, "
        f"{c.acknowledged} acknowledged to the channel; {c.requests} requests "
        f"({per_1000} per 1,000 orders), {c.retries} retries, {c.seconds:.1f} s"
    )
    console.print(line if result.ok else f"[red]{line}[/]\n  {result.error}")


@channels_app.command("list")
def channels_list(
    as_json: bool = typer.Option(False, "--json", help="Print the accounts as the API does."),
) -> None:
    """Every configured account with its sync health, last run and cursor."""
    engine = migrated_engine()
    views = accounts.overview(engine, _configs())
    if as_json:
        typer.echo(dumps([accounts.channel_document(view) for view in views]).decode())
        return
    table = Table(title=f"channel accounts ({get_settings().config_file}), times in UTC")
    for name in ("name", "type", "every", "last success", "next due", "health", "last run"):
        table.add_column(name, no_wrap=name in ("name", "health"))
    for name in ("orders", "requests", "seconds"):
        table.add_column(name, justify="right")
    table.add_column("cursor (newest, channel's zone)")
    table.add_column("note")
    for view in views:
        c = view.last_run.counts if view.last_run else None
        table.add_row(
            view.name, view.type,
            f"{view.sync_interval}s" if view.sync_interval else "",
            _when(view.health.last_success_at), _when(view.health.next_due_at),
            _health(view.health),
            view.last_run.status if view.last_run else "never",
            _num(c.orders if c else None), _num(c.requests if c else None),
            _num(c.seconds if c else None),
            _cursor(view), _note(view),
        )  # fmt: skip
    console.print(table)


def _health(health: SyncHealth) -> str:
    """One of: ok, failing (3), overdue, overdue, failing (12)."""
    parts = ["overdue"] if health.overdue else []
    if health.consecutive_failures:
        parts.append(f"failing ({health.consecutive_failures})")
    return ", ".join(parts) or "ok"


def _cursor(view: accounts.ChannelOverview) -> str:
    """The cursor's newest watermark (the latest change read), with the channel's offset."""
    cursor = zoned_cursor(view.type, view.state.cursor) if view.state else None
    stamps = sorted(_timestamps(cursor), key=datetime.fromisoformat)
    full = isinstance(cursor, dict) and cursor.get("full")
    text = stamps[-1].replace("T", " ") if stamps else ""
    return f"{text} (full pull under way)" if full else text


def _timestamps(value: object) -> list[str]:
    if isinstance(value, dict):
        return [t for item in value.values() for t in _timestamps(item)]
    if isinstance(value, str) and _is_time(value):
        return [value]
    return []


def _is_time(text: str) -> bool:
    try:
        return datetime.fromisoformat(text).tzinfo is not None
    except ValueError:
        return False


def _note(view: accounts.ChannelOverview) -> str:
    notes = [f"set {var}" for var in view.missing_credentials]
    if not view.configured:
        notes = ["not in the configuration"]
    if view.health.last_error:
        notes.append(view.health.last_error)
    return "; ".join(notes)


@quarantine_app.command("list")
def quarantine_list(
    channel: str | None = typer.Option(None, "--channel", "-c", help="Only this account."),
    page: int = typer.Option(1, "--page", min=1),
    page_size: int = typer.Option(20, "--page-size", min=1, max=1000),
    as_json: bool = typer.Option(False, "--json", help="Print the records with their payloads."),
) -> None:
    """Records a sync could not decode, newest first, with the reason."""
    engine = migrated_engine()
    records, total = accounts.quarantined(engine, channel, page, page_size)
    if as_json:
        typer.echo(dumps([fields_document(r) for r in records]).decode())
        return
    table = Table("id", "channel", "external_id", "reason", "last seen", title=f"{total} records")
    for r in records:
        table.add_row(str(r.id), r.channel, r.external_id or "", r.reason, _when(r.last_seen))
    console.print(table)


def _configs() -> list[accounts.ChannelConfig]:
    return accounts.load_config(get_settings().config_file)


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:,g}"
