"""Storage: the only package that talks SQL (SQLite and PostgreSQL through SQLAlchemy Core)."""

from orderhub.store import (  # noqa: F401  (tables join; the fan-out joins SINKS)
    events,
    fulfilment,
    idempotency,
    jobs,
    outbox,
    tags,
    users,
    views,
    webhook_fanout,
    webhooks,
)
from orderhub.store.engine import make_engine, pool_size, refresh_statistics
from orderhub.store.keys import KeyRepository, KeyWithUsage, StoredKey
from orderhub.store.migrate import upgrade
from orderhub.store.orders import (
    BASIC_FIELDS,
    MergeResult,
    OrderPage,
    OrderRepository,
    StoredOrder,
)
from orderhub.store.schedule import Claim, ScheduleEntry, ScheduleRepository
from orderhub.store.sync import ChannelState, QuarantinedRecord, RunCounts, SyncRepository, SyncRun
from orderhub.store.uow import UnitOfWork

__all__ = [
    "BASIC_FIELDS",
    "ChannelState",
    "Claim",
    "KeyRepository",
    "KeyWithUsage",
    "MergeResult",
    "OrderPage",
    "OrderRepository",
    "QuarantinedRecord",
    "RunCounts",
    "ScheduleEntry",
    "ScheduleRepository",
    "StoredKey",
    "StoredOrder",
    "SyncRepository",
    "SyncRun",
    "UnitOfWork",
    "make_engine",
    "pool_size",
    "refresh_statistics",
    "upgrade",
]
