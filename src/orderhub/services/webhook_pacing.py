"""At most `max_per_second` deliveries a second to a subscription, shared by every worker.

The pace is a generic cell rate algorithm kept in the subscription's row: `paced_until` is the
time up to which its sending budget is spent. A delivery may go when that is at most a second
(less one interval) ahead of now, so a second's worth may go at once after a quiet spell; it
then moves `paced_until` one interval on, by compare-and-set, so two workers never spend the
same turn. A delivery whose turn has not come is deferred, not dropped, and spends no attempt.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from orderhub.domain.clock import Clock
from orderhub.store import UnitOfWork
from orderhub.store.webhooks import Subscription, WebhookRepository

DEFAULT_PER_SECOND = 50
MAX_PER_SECOND = 1000
_TRIES = 5


def wait_for_turn(engine: Engine, subscription: Subscription, clock: Clock) -> float:
    """0.0 when the delivery may go now (its turn is taken), else the seconds to wait."""
    interval = timedelta(seconds=1 / subscription.max_per_second)
    window = timedelta(seconds=1) - interval
    seen = subscription.paced_until
    for _ in range(_TRIES):
        now = clock.now()
        start = now if seen is None or seen < now else seen
        if start - now > window:
            return (start - now - window).total_seconds()
        with UnitOfWork(engine) as uow:
            repo = WebhookRepository(uow.conn)
            if repo.take_turn(subscription.id, seen, start + interval):
                return 0.0
            seen = repo.paced_until(subscription.id)
    return interval.total_seconds()  # busy: other workers took the turns meanwhile
