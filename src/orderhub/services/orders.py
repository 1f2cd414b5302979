"""Reading orders: the query language applied to the store."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine

from orderhub.domain import NotFound
from orderhub.query import OrderQuery, parse_query
from orderhub.services.order_presets import UNCONFIRMED
from orderhub.store import OrderPage, OrderRepository, StoredOrder
from orderhub.store.events import EventRepository


class OrderNotFound(NotFound):
    def __init__(self, order_id: int) -> None:
        self.order_id = order_id
        super().__init__(f"order {order_id} does not exist")


def list_orders(
    engine: Engine, query: OrderQuery, *, ids_only: bool = False, encoded: bool = False
) -> OrderPage:
    """A page of orders; `encoded`: values as JSON writes them, where the store can
    (store/encoded.py): for an answer in JSON, not for code that reads the values."""
    held = OrderRepository.find_held(engine, query, ids_only=ids_only) if encoded else None
    if held is not None:
        return held
    with engine.connect() as conn:
        return OrderRepository(conn).find(query, ids_only=ids_only, encoded=encoded)


def list_unconfirmed(
    engine: Engine, params: Iterable[tuple[str, str]], *, encoded: bool = False
) -> tuple[OrderQuery, OrderPage]:
    """MALL's unconfirmed queue for every channel: orders the merchant has not acknowledged."""
    query = parse_query([*params, *UNCONFIRMED])
    return query, list_orders(engine, query, ids_only=unconfirmed_ids(query), encoded=encoded)


def unconfirmed_ids(query: OrderQuery) -> bool:
    """The unconfirmed queue lists ids, unless filter=basic or fields= asks for objects."""
    return query.view.value == "full" and query.picked is None


def get_order(engine: Engine, order_id: int, *, encoded: bool = False) -> StoredOrder:
    """The order (OrderNotFound if none); `encoded` as for `list_orders`."""
    held = OrderRepository.get_held(engine, order_id) if encoded else False
    if held is not False:
        found = held
    else:
        with engine.connect() as conn:
            found = OrderRepository(conn).get(order_id, encoded=encoded)
    if found is None:
        raise OrderNotFound(order_id)
    return found


def order_text(engine: Engine, order_id: int) -> tuple[str, int] | None:
    """The order's JSON answer as text and its version, where SQLite keeps it
    (store/texts.py); None when it cannot be had now (then `get_order`). OrderNotFound if
    there is no such order."""
    found = OrderRepository.text_held(engine, order_id)
    if found is None:
        raise OrderNotFound(order_id)
    return found or None


def count_orders(engine: Engine) -> int:
    with engine.connect() as conn:
        return OrderRepository(conn).count()


class NoSearchResults(NotFound):
    def __init__(self) -> None:
        # The CS-Cart shop's words (seed 002), which its integrations may look for.
        super().__init__("Your search did not return any results")


def search_vendor_ref(engine: Engine, vendor_ref: str) -> list[StoredOrder]:
    """Every order with this merchant reference; NoSearchResults when there is none."""
    with engine.connect() as conn:
        found = OrderRepository(conn).with_vendor_ref(vendor_ref)
    if not found:
        raise NoSearchResults()
    return found


def order_history(engine: Engine, order_id: int) -> list[dict[str, Any]]:
    """Every recorded field change of the order, oldest first (OrderNotFound if none)."""
    with engine.connect() as conn:  # a read: no write lock (a UnitOfWork takes one)
        if OrderRepository(conn).get(order_id) is None:
            raise OrderNotFound(order_id)
        return EventRepository(conn).history(order_id)
