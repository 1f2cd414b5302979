"""Executemany without SQLAlchemy's per-row overhead, for bulk writes of thousands of rows.

SQLAlchemy's executemany spends ~50 us a row on parameter bookkeeping; here each column's own
bind processor (the same conversion SQLAlchemy applies) runs once per value, and the driver
gets plain tuples or dicts. Measured by bench/read.py's generate phase.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.sql.dml import Insert

Processor = Callable[[Any], Any] | None


def execute_many(
    conn: Connection, stmt: Insert, table: Table, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Run an INSERT (or upsert) for many rows whose keys are column names of `table`."""
    if not rows:
        return
    names = list(rows[0].keys())
    # inline(): no per-row fetch of generated keys, so the driver can batch the rows.
    compiled = stmt.inline().compile(dialect=conn.dialect, column_keys=names)
    dialect = conn.dialect
    processors = {
        name: table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    }
    order = compiled.positiontup
    if order is not None:
        conn.exec_driver_sql(compiled.string, [_positional(row, order, processors) for row in rows])
    else:
        conn.exec_driver_sql(compiled.string, [_named(row, processors) for row in rows])


def _positional(
    row: Mapping[str, Any], order: Sequence[str], processors: Mapping[str, Processor]
) -> tuple[Any, ...]:
    return tuple(_apply(processors[name], row[name]) for name in order)


def _named(row: Mapping[str, Any], processors: Mapping[str, Processor]) -> dict[str, Any]:
    return {name: _apply(processors[name], value) for name, value in row.items()}


def _apply(processor: Processor, value: Any) -> Any:
    return value if processor is None else processor(value)
