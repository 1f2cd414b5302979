"""`orderhub worker`: deliver the outbox (customer e-mail, webhooks, push-back) and run the
scheduled syncs of orderhub.toml's accounts, until Ctrl-C."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import typer
from rich.markup import escape

from orderhub.cli.common import console, engine_from_settings
from orderhub.cli.errors import UsageError
from orderhub.services.scheduler import Outcome, Scheduler
from orderhub.services.secrets import check_key
from orderhub.services.worker import WorkerPlan, plan_scheduler, plan_worker, run_once, run_worker
from orderhub.settings import get_settings
from orderhub.store import upgrade


def worker(
    once: bool = typer.Option(False, "--once", help="Do what is due now, then exit."),
    poll: float = typer.Option(
        1.0, "--poll", min=0.05, max=3600, help="Seconds to wait when nothing is due."
    ),
    no_sync: bool = typer.Option(False, "--no-sync", help="Only deliver the outbox."),
    only_sync: bool = typer.Option(False, "--only-sync", help="Only run the scheduled syncs."),
) -> None:
    """Deliver the outbox (e-mail, webhooks, push-back) and sync every account of orderhub.toml
    at its sync_interval. Run as many as you like: they share the work."""
    if no_sync and only_sync:
        raise UsageError("--no-sync and --only-sync exclude each other: give one")
    engine = engine_from_settings()
    check_key(engine)  # a worker signs webhooks: refuse to start without the key
    upgrade(engine)
    settings = get_settings()
    # A bad orderhub.toml or setting leaves as one line and exit 2 (cli/errors.py).
    plan = None if only_sync else plan_worker(engine, settings)
    scheduler = None if no_sync else plan_scheduler(engine, settings, report=_print_outcome)
    _print_plan(plan, scheduler, settings.config_file)
    topics = None if plan is None else plan.topics
    if once:
        done = run_once(engine, topics, scheduler)
        if scheduler is not None:
            console.print(f"ran {len(done.synced)} scheduled sync(s)")
        if plan is not None:
            console.print(f"attempted {done.delivered} outbox row(s)")
        return
    stop = threading.Event()
    _stop_on_signals(stop)
    console.print("running; Ctrl-C stops after the work in hand")
    run_worker(engine, topics, poll=poll, stop=stop, scheduler=scheduler)
    console.print("stopped")


def _print_plan(plan: WorkerPlan | None, scheduler: Scheduler | None, config_file: str) -> None:
    if plan is None:
        console.print("delivering: nothing (--only-sync)")
    else:
        console.print(f"delivering: {', '.join(sorted(plan.topics)) or 'nothing'}")
        for topic, reason in plan.idle.items():
            console.print(f"[yellow]not delivering {topic}:[/] {escape(reason)}")
    if scheduler is None:
        console.print("syncing: nothing (--no-sync)")
        return
    every = [f"{name} every {_seconds(s)}" for name, s in scheduler.intervals().items()]
    lease = f" (lease {_seconds(scheduler.lease_seconds)})" if every else ""
    accounts = ", ".join(every) or f"nothing (no accounts in {config_file})"
    console.print(f"syncing: {accounts}{lease}")
    for name, reason in scheduler.skipped.items():
        console.print(f"[yellow]not syncing {name}:[/] {escape(reason)}")


def _print_outcome(outcome: Outcome) -> None:
    result = outcome.result
    counts = result.counts if result is not None else None
    done = (
        f"{counts.orders_new} new, {counts.orders_changed} changed, {counts.seconds:.1f} s"
        if counts is not None
        else ""
    )
    if outcome.status == "ok":
        line = f"synced {outcome.channel}: {done}"
    elif outcome.status == "failed":
        line = f"[yellow]sync of {outcome.channel} failed[/] ({outcome.failures} in a row): "
        line += escape(outcome.error or "")
    else:
        line = f"[yellow]sync of {outcome.channel} stopped:[/] another worker holds it now"
    if outcome.next_due_at is not None:
        line += f"; next at {outcome.next_due_at:%H:%M:%S} UTC"
    console.print(line, soft_wrap=True, highlight=False)


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _stop_on_signals(stop: threading.Event) -> None:
    """First Ctrl-C (or SIGTERM): finish the work in hand, then stop. A second one: at once."""

    def handle(signum: int, _frame: FrameType | None) -> None:
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
