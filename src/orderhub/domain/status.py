"""Order statuses, payment statuses and the transitions a merchant may ask for."""

from __future__ import annotations

from enum import StrEnum

from orderhub.domain.errors import Conflict


class ChannelType(StrEnum):
    MALL = "mall"
    CSCART = "cscart"
    DEXERO = "dexero"
    CDON = "cdon"


class Status(StrEnum):
    """The fulfilment lifecycle of a canonical order."""

    PENDING = "pending"
    OPEN = "open"
    BACKORDERED = "backordered"
    SHIPPING = "shipping"
    #: Some goods lines shipped (per-line shipments), others still to ship.
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    RETURNING = "returning"
    RETURNED = "returned"
    CANCELLED = "cancelled"
    FAILED = "failed"
    LOST = "lost"


class PaymentStatus(StrEnum):
    UNPAID = "unpaid"
    PAID = "paid"
    REFUND_PENDING = "refund_pending"
    REFUNDED = "refunded"
    NOT_APPLICABLE = "not_applicable"


#: What a merchant may ask for through the hub. Changes a channel reports are always recorded.
MERCHANT_TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.CANCELLED}),
    Status.OPEN: frozenset(
        {
            Status.SHIPPING,
            Status.PARTIALLY_SHIPPED,
            Status.SHIPPED,
            Status.CANCELLED,
            Status.BACKORDERED,
        }
    ),
    Status.BACKORDERED: frozenset(
        {Status.OPEN, Status.SHIPPING, Status.PARTIALLY_SHIPPED, Status.SHIPPED, Status.CANCELLED}
    ),
    Status.SHIPPING: frozenset({Status.PARTIALLY_SHIPPED, Status.SHIPPED, Status.CANCELLED}),
    # What is shipped cannot be cancelled: the rest is cancelled per line (POST .../cancellations).
    Status.PARTIALLY_SHIPPED: frozenset({Status.SHIPPED, Status.RETURNING, Status.RETURNED}),
    Status.SHIPPED: frozenset({Status.DELIVERED, Status.RETURNING, Status.RETURNED, Status.LOST}),
    Status.DELIVERED: frozenset({Status.RETURNING, Status.RETURNED}),
    Status.RETURNING: frozenset({Status.RETURNED}),
    Status.RETURNED: frozenset(),
    Status.CANCELLED: frozenset(),
    Status.FAILED: frozenset(),
    Status.LOST: frozenset(),
}


#: What an order must carry to be in a status (MALL's rules, applied to every channel).
REQUIRED_FOR: dict[Status, tuple[str, ...]] = {
    Status.SHIPPED: ("tracking_number", "tracking_url"),
    Status.DELIVERED: ("delivered_at",),
}


class TransitionRefused(Conflict):
    """A merchant asked for a status change the transition table does not allow."""

    def __init__(self, current: Status, requested: Status) -> None:
        self.current = current
        self.requested = requested
        self.allowed = sorted(MERCHANT_TRANSITIONS[current])
        allowed = ", ".join(self.allowed) or "none"
        super().__init__(
            f"cannot change status from {current} to {requested}; allowed next: {allowed}"
        )

    title = "Status change refused"


def check_transition(current: Status, requested: Status) -> None:
    """Raise TransitionRefused unless a merchant may move an order from current to requested."""
    if requested != current and requested not in MERCHANT_TRANSITIONS[current]:
        raise TransitionRefused(current, requested)
