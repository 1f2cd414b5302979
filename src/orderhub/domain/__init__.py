"""The canonical order model: pure Python, no I/O."""

from orderhub.domain.clock import SYSTEM_CLOCK, Clock, ManualClock, SystemClock
from orderhub.domain.errors import Conflict, InvalidInput, NotFound, OrderhubError
from orderhub.domain.money import Money
from orderhub.domain.order import (
    SCALAR_FIELDS,
    Address,
    FieldKind,
    LineType,
    Order,
    OrderLine,
    ScalarField,
    StatusChange,
    StatusSource,
)
from orderhub.domain.status import (
    MERCHANT_TRANSITIONS,
    ChannelType,
    PaymentStatus,
    Status,
    TransitionRefused,
    check_transition,
)
from orderhub.domain.tags import QUERY_FIELDS

__all__ = [
    "MERCHANT_TRANSITIONS",
    "QUERY_FIELDS",
    "SCALAR_FIELDS",
    "SYSTEM_CLOCK",
    "Address",
    "ChannelType",
    "Clock",
    "Conflict",
    "FieldKind",
    "InvalidInput",
    "LineType",
    "ManualClock",
    "Money",
    "NotFound",
    "Order",
    "OrderLine",
    "OrderhubError",
    "PaymentStatus",
    "ScalarField",
    "Status",
    "StatusChange",
    "StatusSource",
    "SystemClock",
    "TransitionRefused",
    "check_transition",
]
