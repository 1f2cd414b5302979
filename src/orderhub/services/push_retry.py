"""Retrying a failed push-back: the order's push rows that failed since its last success due
again with a fresh retry schedule, in their order (a line's shipment is not lost behind a
later change; each row carries its own step, so the channel ends at the order's newest state),
and its `push_status` back to `pending` (the ETag moves), in one transaction. The order page's
"Retry push" and the channels page's retry call it; `orderhub worker` then delivers them."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Engine

from orderhub.domain import Conflict
from orderhub.domain.clock import SYSTEM_CLOCK, Clock
from orderhub.domain.order import PushStatus
from orderhub.services.updates import locked_order
from orderhub.store import StoredOrder, UnitOfWork
from orderhub.store.push import GAVE_UP, PushRepository

#: The push states a retry can help: the retries ran out, or the channel said no (it may take
#: the change now that the merchant has fixed what it objected to). Those where a push gave up.
RETRYABLE = frozenset(GAVE_UP)


class NothingToRetry(Conflict):
    title = "Nothing to retry"


def retry_push(
    engine: Engine,
    order_id: int,
    if_match: Collection[int] | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> StoredOrder:
    """Queue the order's failed push again; the order as it is now (OrderNotFound,
    PreconditionFailed, or NothingToRetry when its push did not fail)."""
    with UnitOfWork(engine) as uow:
        stored = locked_order(uow, order_id, if_match)
        status = stored.to_order().push_status
        if status not in RETRYABLE:
            raise NothingToRetry(
                f"order {order_id}'s push is {status or 'not needed'}: only a failed or refused "
                "push is retried"
            )
        repo = PushRepository(uow.conn)
        if repo.requeue_failed(order_id, clock.now()) == 0:
            raise NothingToRetry(f"order {order_id} has no failed push left to send again")
        repo.set_state(order_id, PushStatus.PENDING, None, bump_version=True)
        fresh = uow.orders.get(order_id)
    assert fresh is not None  # we held its lock
    return fresh
