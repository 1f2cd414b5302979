"""The outbox worker: delivers leased outbox rows through the handler of their topic.

A handler raises RetryLater (transient: try again after a backoff), GiveUp (permanent) or
Defer (not its turn yet: try again later without spending an attempt); returning normally
means delivered. Handlers register per topic (`register`): e-mail,
webhook deliveries, channel push-back. Delivery is at least once: a crash between sending
and recording makes the row due again when its lease expires, so handlers send with a
stable id (the outbox row's dedupe key or event id) that receivers can de-duplicate on.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine

from orderhub.domain.clock import SYSTEM_CLOCK, Clock
from orderhub.store import UnitOfWork
from orderhub.store.engine import small_cache
from orderhub.store.outbox import LEASE_SECONDS, OutboxItem

log = logging.getLogger(__name__)


class RetryLater(Exception):
    """A transient failure; `after` (seconds) overrides the topic's backoff when given."""

    def __init__(self, error: str, *, after: float | None = None) -> None:
        super().__init__(error)
        self.after = after


class GiveUp(Exception):
    """A permanent failure: the row is marked failed and not tried again."""


class Defer(Exception):
    """Not this row's turn yet (e.g. an earlier change of the same order is still waiting):
    due again after `after` seconds, and the wait spends none of its attempts."""

    def __init__(self, reason: str, *, after: float) -> None:
        super().__init__(reason)
        self.after = after


Handler = Callable[[OutboxItem], None]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter, capped; after `attempts` tries the row fails."""

    first: float = 5.0
    factor: float = 2.0
    cap: float = 6 * 3600.0
    attempts: int = 10

    def delay(self, attempt: int, rng: random.Random) -> float:
        ceiling = min(self.cap, self.first * self.factor ** (attempt - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


@dataclass(frozen=True, slots=True)
class Topic:
    handler: Handler
    backoff: Backoff


TOPICS: dict[str, Topic] = {}


def register(topic: str, handler: Handler, backoff: Backoff | None = None) -> None:
    TOPICS[topic] = Topic(handler, backoff or Backoff())


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


class Worker:
    """Leases due rows of the registered topics and settles each one."""

    def __init__(
        self,
        engine: Engine,
        topics: dict[str, Topic] | None = None,
        name: str | None = None,
        *,
        clock: Clock = SYSTEM_CLOCK,
        lease_for: float = LEASE_SECONDS,
    ) -> None:
        self.engine = engine
        self.topics = TOPICS if topics is None else topics
        self.name = name or worker_name()
        self.rng = random.Random()
        #: Every time this worker compares or stamps (due rows, leases, backoff) comes from here.
        self.clock = clock
        self.lease_for = lease_for

    def run_once(self, limit: int = 20) -> int:
        """Deliver what is due now; returns how many rows were attempted."""
        if not self.topics:
            return 0
        # The lease walks the due rows of every topic (a job's push rows too, thousands while
        # the push topic catches up): read once, through the small cache (store.engine).
        with UnitOfWork(self.engine) as uow, small_cache(uow.conn):
            items = uow.outbox.lease(
                list(self.topics),
                self.name,
                at=self.clock.now(),
                limit=limit,
                lease_for=self.lease_for,
            )
        for item in items:
            self._deliver(item)
        return len(items)

    def run_until_idle(self, limit: int = 20, max_rounds: int = 1000) -> int:
        """Deliver until nothing is due (tests and one-shot runs)."""
        total = 0
        for _ in range(max_rounds):
            done = self.run_once(limit)
            total += done
            if done == 0:
                break
        return total

    def run_forever(self, stop: threading.Event, poll: float = 1.0) -> None:
        while not stop.is_set():
            try:
                if self.run_once() == 0:
                    stop.wait(poll)
            except Exception:  # a broken database connection must not kill the worker
                log.exception("outbox round failed; retrying")
                stop.wait(poll)

    def _deliver(self, item: OutboxItem) -> None:
        topic = self.topics[item.topic]
        try:
            topic.handler(item)
        except GiveUp as exc:
            reason = str(exc)
            self._settle(lambda uow: uow.outbox.give_up(item.id, self.name, reason))
        except Defer as exc:
            due = self.clock.now() + timedelta(seconds=exc.after)
            note = str(exc)
            self._settle(lambda uow: uow.outbox.defer(item.id, self.name, due, note))
        except RetryLater as exc:
            self._retry(item, topic.backoff, str(exc), exc.after)
        except Exception as exc:  # a handler bug is retried like a transient failure
            log.exception("outbox handler for %s failed", item.topic)
            self._retry(item, topic.backoff, f"{type(exc).__name__}: {exc}", None)
        else:
            self._settle(lambda uow: uow.outbox.complete(item.id, self.name, self.clock.now()))

    def _retry(self, item: OutboxItem, backoff: Backoff, error: str, after: float | None) -> None:
        attempt = item.attempts + 1
        if attempt >= backoff.attempts:
            self._settle(lambda uow: uow.outbox.give_up(item.id, self.name, error))
            return
        delay = after if after is not None else backoff.delay(attempt, self.rng)
        due = self.clock.now() + timedelta(seconds=delay)
        self._settle(lambda uow: uow.outbox.retry(item.id, self.name, due, error))

    def _settle(self, action: Callable[[UnitOfWork], bool]) -> None:
        with UnitOfWork(self.engine) as uow:
            action(uow)
