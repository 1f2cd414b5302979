"""Retrying a failed push-back: the order's newest push row due again with a fresh retry
schedule, and its `push_status` back to `pending` (the ETag moves), in one transaction. Only
the newest row: an older one would push a status the order has moved past. The order page's
"Retry push" and the channels page's retry call it; `orderhub worker` then delivers the row."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Engine

from orderhub.domain import Conflict
from orderhub.domain.clock import SYSTEM_CLOCK, Clock
from orderhub.domain.order import PushStatus
from orderhub.services.updates import locked_order
from orderhub.store import StoredOrder, UnitOfWork
from orderhub.store.outbox import OutboxStatus
from orderhub.store.push import PushRepository

#: The push states a retry can help: the retries ran out, or the channel said no (it may take
#: the change now that the merchant has fixed what it objected to).
RETRYABLE = frozenset({PushStatus.FAILED.value, PushStatus.REFUSED.value})


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
        newest = repo.newest(order_id)
        if newest is None or newest[1] != OutboxStatus.FAILED:
            raise NothingToRetry(f"order {order_id} has no failed push left to send again")
        uow.outbox.resend(newest[0], clock.now())
        repo.set_state(order_id, PushStatus.PENDING, None, bump_version=True)
        fresh = uow.orders.get(order_id)
    assert fresh is not None  # we held its lock
    return fresh
