"""Column types that keep money exact and timestamps zoned on both SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

SCALE = 4
_FACTOR = Decimal(10) ** SCALE
_QUANTUM = Decimal(1).scaleb(-SCALE)

#: A 64-bit primary key that is SQLite's rowid there (an INTEGER PRIMARY KEY) and BIGINT elsewhere.
Id64 = BigInteger().with_variant(Integer(), "sqlite")


class Amount(TypeDecorator[Decimal]):
    """Exact money: NUMERIC(18,4) on PostgreSQL; an integer of 1/10,000 units on SQLite.

    SQLite has no decimal type, so a scaled integer is the exact, sortable, comparable choice.
    """

    impl = Numeric(18, SCALE)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(18, SCALE, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        amount = Decimal(value) if not isinstance(value, Decimal) else value
        if dialect.name == "sqlite":
            return int((amount * _FACTOR).to_integral_value())
        return amount.quantize(_QUANTUM)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(value) / _FACTOR).quantize(_QUANTUM)
        return Decimal(value)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps always stored in UTC and always returned zoned (timestamptz on PostgreSQL)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError(f"a zoned datetime is required, got {value!r}")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def Str(length: int) -> TypeEngine[str]:
    """A string compared byte by byte on both databases (PostgreSQL's collation "C").

    SQLite compares text as bytes; PostgreSQL by the locale unless told otherwise. "C" makes
    `customer=lt:M` and `_sort=customer` mean the same on both (and keeps indexes cheaper).
    """
    return String(length).with_variant(String(length, collation="C"), "postgresql")
