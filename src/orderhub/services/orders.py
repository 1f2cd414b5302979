"""Reading orders: the query language applied to the store."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine

from orderhub.domain import NotFound
from orderhub.query import OrderQuery, parse_query
from orderhub.store import OrderPage, OrderRepository, StoredOrder


class OrderNotFound(NotFound):
    def __init__(self, order_id: int) -> None:
        self.order_id = order_id
        super().__init__(f"order {order_id} does not exist")


def list_orders(engine: Engine, query: OrderQuery, *, ids_only: bool = False) -> OrderPage:
    with engine.connect() as conn:
        return OrderRepository(conn).find(query, ids_only=ids_only)


def list_unconfirmed(
    engine: Engine, params: Iterable[tuple[str, str]]
) -> tuple[OrderQuery, OrderPage]:
    """MALL's unconfirmed queue for every channel: orders the merchant has not acknowledged."""
    query = parse_query([*params, ("confirmed", "0")])
    with engine.connect() as conn:
        page = OrderRepository(conn).find(query, ids_only=query.view.value == "full")
    return query, page


def get_order(engine: Engine, order_id: int) -> StoredOrder:
    with engine.connect() as conn:
        found = OrderRepository(conn).get(order_id)
    if found is None:
        raise OrderNotFound(order_id)
    return found


def count_orders(engine: Engine) -> int:
    with engine.connect() as conn:
        return OrderRepository(conn).count()
