"""Storage: the only package that talks SQL (SQLite and PostgreSQL through SQLAlchemy Core)."""

from orderhub.store.engine import make_engine
from orderhub.store.migrate import upgrade
from orderhub.store.orders import BASIC_FIELDS, OrderPage, OrderRepository, StoredOrder
from orderhub.store.uow import UnitOfWork

__all__ = [
    "BASIC_FIELDS",
    "OrderPage",
    "OrderRepository",
    "StoredOrder",
    "UnitOfWork",
    "make_engine",
    "upgrade",
]
