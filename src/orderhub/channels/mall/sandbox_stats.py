"""GET /orders/stats of the MALL sandbox: how many orders are in each status.

Counted over the sandbox's own orders placed in the last `days` days (default 30, the client's):
an order is placed when it first entered a status (its earliest status timestamp); test orders
are left out, as from every list that does not ask for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from orderhub.channels.mall.sandbox_listing import OK
from orderhub.channels.mall.sandbox_payload import mall_time
from orderhub.channels.mall.sandbox_store import COLUMNS, MALL_STATUSES, MallOrderStore, wall_time
from orderhub.channels.mall.sandbox_updates import MallError

DEFAULT_DAYS = 30
MAX_DAYS = 36_500


def parse_days(params: Sequence[tuple[str, str]]) -> int:
    """The `days` parameter: a whole number of days, 1 to MAX_DAYS; 30 when absent."""
    values = [value for name, value in params if name == "days"]
    if not values:
        return DEFAULT_DAYS
    raw = values[-1]
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_DAYS:
        expected = f"a whole number of days from 1 to {MAX_DAYS}"
        attributes = {"parameter": "days", "expected": expected, "value": raw}
        raise MallError(400, "INVALID_PARAMETER", f"days: expected {expected}", attributes)
    return int(raw)


def order_stats(store: MallOrderStore, days: int, now: datetime) -> dict[str, Any]:
    """`{"data": {status: count, ...}, "result": OK}`, every MALL status present."""
    since = wall_time(mall_time(now - timedelta(days=days)))
    stamps = [COLUMNS[word] for word in MALL_STATUSES]
    query = select(COLUMNS["status"], *stamps).where(COLUMNS["test"].is_(False))
    counts = dict.fromkeys(MALL_STATUSES, 0)
    with store.lock, store.engine.connect() as conn:
        for status, *times in conn.execute(query):
            placed = min((at for at in times if at is not None), default=None)
            if placed is not None and placed >= since:
                counts[status] += 1
    return {"data": counts, "result": OK}
