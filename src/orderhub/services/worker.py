"""`orderhub worker`: which outbox topics this process delivers, and running them.

Any number of workers may run against one database: rows are leased (PostgreSQL's
`FOR UPDATE SKIP LOCKED`, store/outbox.py), so no row is taken by two workers at once.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass, field

from sqlalchemy import Engine

from orderhub.domain.clock import SYSTEM_CLOCK, Clock
from orderhub.services import mail
from orderhub.services.outbox import TOPICS, Topic, Worker
from orderhub.services.smtp import SmtpConfig, mail_topic
from orderhub.settings import Settings

#: Modules that register their topics (`install(engine)`), when they are part of this build.
_OPTIONAL_TOPICS = (
    "orderhub.services.webhook_delivery",
    "orderhub.services.push",
    "orderhub.services.inbound",
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


def run_worker(
    engine: Engine,
    topics: dict[str, Topic],
    *,
    once: bool,
    poll: float,
    stop: threading.Event | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> int:
    """Deliver what is due and return (once), or keep delivering until `stop` is set.

    Returns how many rows were attempted in a `once` run (0 otherwise)."""
    worker = Worker(engine, topics, clock=clock)
    if once:
        return worker.run_until_idle()
    worker.run_forever(stop or threading.Event(), poll)
    return 0
