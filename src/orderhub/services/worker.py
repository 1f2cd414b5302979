"""`orderhub worker`: which outbox topics this process delivers and which accounts it syncs,
and running both.

Any number of workers may run against one database: outbox rows and accounts due a sync are
leased (PostgreSQL's `FOR UPDATE SKIP LOCKED`, store/outbox.py and store/schedule.py), so no
row and no account is taken by two workers at once.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from orderhub.domain.clock import SYSTEM_CLOCK, Clock
from orderhub.services import mail
from orderhub.services.channels import load_config
from orderhub.services.outbox import TOPICS, Topic, Worker
from orderhub.services.scheduler import Outcome, Scheduler
from orderhub.services.smtp import SmtpConfig, mail_topic
from orderhub.settings import Settings

#: Modules that register their topics (`install(engine)`), when they are part of this build.
_OPTIONAL_TOPICS = (
    "orderhub.services.webhook_delivery",
    "orderhub.services.push",
    "orderhub.services.inbound",
    "orderhub.services.jobs",
)


@dataclass(slots=True)
class WorkerPlan:
    topics: dict[str, Topic]
    #: Why a topic is not delivered by this worker, by topic name (shown on start).
    idle: dict[str, str] = field(default_factory=dict)


def plan_worker(engine: Engine, settings: Settings) -> WorkerPlan:
    """The topics to deliver with these settings: mail when SMTP is configured, and every
    topic another module registers (webhooks)."""
    for module_name in _OPTIONAL_TOPICS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.install(engine)
    plan = WorkerPlan(dict(TOPICS))
    if settings.smtp_url:
        smtp = SmtpConfig.from_url(settings.smtp_url)
        plan.topics[mail.TOPIC] = mail_topic(smtp, settings.mail_from)
    else:
        plan.topics.pop(mail.TOPIC, None)
        plan.idle[mail.TOPIC] = "no ORDERHUB_SMTP_URL: e-mail waits in the outbox"
    return plan


def plan_scheduler(
    engine: Engine,
    settings: Settings,
    *,
    clock: Clock = SYSTEM_CLOCK,
    report: Callable[[Outcome], None] | None = None,
) -> Scheduler:
    """The scheduler of the accounts in the configuration file (ConfigError if it is bad);
    accounts missing credentials are left out, each with its reason in `skipped`."""
    configs = load_config(settings.config_file)
    return Scheduler(
        engine, configs, clock=clock, lease_seconds=settings.sync_lease_seconds, report=report
    )


@dataclass(frozen=True, slots=True)
class OnceResult:
    """What a `--once` run did: outbox rows attempted, scheduled syncs run."""

    delivered: int
    synced: list[Outcome]


def run_once(
    engine: Engine,
    topics: dict[str, Topic] | None,
    scheduler: Scheduler | None,
    *,
    clock: Clock = SYSTEM_CLOCK,
) -> OnceResult:
    """Sync what is due now (if scheduling), then deliver what is due (if delivering)."""
    synced = scheduler.run_due() if scheduler is not None else []
    delivered = Worker(engine, topics, clock=clock).run_until_idle() if topics is not None else 0
    return OnceResult(delivered, synced)


def run_worker(
    engine: Engine,
    topics: dict[str, Topic] | None,
    *,
    once: bool = False,
    poll: float = 1.0,
    stop: threading.Event | None = None,
    clock: Clock = SYSTEM_CLOCK,
    scheduler: Scheduler | None = None,
) -> int:
    """Deliver the outbox (`topics`; None: not at all) and run the scheduled syncs
    (`scheduler`; None: none), each in its own thread, until `stop` is set; each finishes the
    work in hand first. `once`: what is due now, then return how many rows were attempted."""
    if once:
        return run_once(engine, topics, scheduler, clock=clock).delivered
    stop = stop or threading.Event()
    parts: list[Callable[[], None]] = []
    if topics is not None:
        worker = Worker(engine, topics, clock=clock)
        parts.append(lambda: worker.run_forever(stop, poll))
    if scheduler is not None:
        parts.append(lambda: scheduler.run_forever(stop, poll))
    threads = [threading.Thread(target=part, daemon=True) for part in parts]
    for thread in threads:
        thread.start()
    # Waiting in short steps keeps the main thread free to run signal handlers.
    while not stop.wait(0.2):
        if not any(thread.is_alive() for thread in threads):
            return 0
    for thread in threads:
        thread.join()
    return 0
