"""A unit of work: one transaction, the repositories bound to it, commit at the boundary."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType

from sqlalchemy import Connection, Engine

from orderhub.domain.events import OrderEvent
from orderhub.store.events import EventRepository, RecordedEvent
from orderhub.store.orders import OrderRepository
from orderhub.store.outbox import OutboxRepository


class UnitOfWork:
    """`with UnitOfWork(engine) as uow:` commits on a clean exit and rolls back on an error.

    A unit of work is a write transaction. On SQLite it takes the database's write lock as it
    begins (BEGIN IMMEDIATE, waiting out other writers), so what it reads is what it writes
    over: no other process commits in between (store/engine.py). On PostgreSQL writers of one
    order take turns on its row lock (`get_for_update`, `merge_from_channel`).
    """

    conn: Connection
    orders: OrderRepository
    events: EventRepository
    outbox: OutboxRepository

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __enter__(self) -> UnitOfWork:
        self.conn = self.engine.connect()
        self._tx = self.conn.begin()
        if self.conn.dialect.name == "sqlite":
            # The driver would begin only at the first write; begin now, as the writer.
            self.conn.exec_driver_sql("BEGIN IMMEDIATE")
        self.orders = OrderRepository(self.conn)
        self.events = EventRepository(self.conn)
        self.outbox = OutboxRepository(self.conn)
        return self

    def publish(self, events: Sequence[OrderEvent]) -> list[RecordedEvent]:
        """Record events (history, webhook fan-out) in this transaction."""
        return self.events.record(events)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self._tx.commit()
            else:
                self._tx.rollback()
        finally:
            self.conn.close()
