"""`orderhub worker`: deliver the outbox (customer e-mail, webhooks) until Ctrl-C."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import typer

from orderhub.cli.common import console, engine_from_settings
from orderhub.domain import InvalidInput
from orderhub.services.worker import plan_worker, run_worker
from orderhub.settings import get_settings
from orderhub.store import upgrade


def worker(
    once: bool = typer.Option(False, "--once", help="Deliver what is due now, then exit."),
    poll: float = typer.Option(
        1.0, "--poll", min=0.05, max=3600, help="Seconds to wait when nothing is due."
    ),
) -> None:
    """Deliver the outbox: e-mail (ORDERHUB_SMTP_URL) and webhooks. Run as many as you like."""
    engine = engine_from_settings()
    upgrade(engine)
    try:
        plan = plan_worker(engine, get_settings())
    except InvalidInput as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    topics = ", ".join(sorted(plan.topics)) or "nothing"
    console.print(f"delivering: {topics}")
    for topic, reason in plan.idle.items():
        console.print(f"[yellow]not delivering {topic}:[/] {reason}")
    if once:
        done = run_worker(engine, plan.topics, once=True, poll=poll)
        console.print(f"attempted {done} outbox row(s)")
        return
    stop = threading.Event()
    _stop_on_signals(stop)
    console.print("running; Ctrl-C stops after the message in hand")
    run_worker(engine, plan.topics, once=False, poll=poll, stop=stop)
    console.print("stopped")


def _stop_on_signals(stop: threading.Event) -> None:
    """First Ctrl-C (or SIGTERM): finish the row in hand, then stop. A second one: at once."""

    def handle(signum: int, _frame: FrameType | None) -> None:
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
