"""Rows of the orders table as the JSON answers write them, straight from SQLite's values.

The hot reads (a lookup, a page of a list) answered in JSON spend most of their Python time
turning SQLite's values into Python types (SQLAlchemy's result processing: a `Decimal` from
each scaled money integer, a zoned `datetime` parsed from each timestamp's text) that the JSON
encoder then turns back into text. On SQLite those rows can go from the driver's values to
the JSON's text directly: money as an `orjson.Fragment` of its decimal text, timestamps and
dates as their ISO text, booleans as `bool`; the encoder then needs no fallback at all.

Each value is written exactly as `domain.jsonfmt` writes the typed one (`money_text`,
`timestamp_text`, `date.isoformat`); a text in another form than SQLAlchemy's own storage
format goes through the column's own result processing first, so the answer never differs
(tests/test_encoded_rows.py compares both over generated orders and edge cases).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Executable
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ColumnElement

from orderhub.domain.jsonfmt import timestamp_text
from orderhub.store.types import SCALE, Amount, UTCDateTime

Convert = Callable[[Any], Any]
_UNIT = 10**SCALE


def money_fragment(scaled: int | None) -> orjson.Fragment | None:
    """A scaled money integer (1/10,000 units) as `money_text` writes its `Decimal`."""
    if scaled is None:
        return None
    known = _AMOUNTS.get(scaled)
    if known is None:
        if len(_AMOUNTS) >= _AMOUNTS_KEPT:
            _AMOUNTS.clear()
        units, places = divmod(abs(scaled), _UNIT)
        fraction = f"{places:0{SCALE}d}".rstrip("0")
        sign = "-" if scaled < 0 else ""
        known = _AMOUNTS[scaled] = orjson.Fragment(f"{sign}{units}.{fraction:0<2}")
    return known


#: Amounts repeat (prices, shipping costs, zero): their text is kept, up to this many.
_AMOUNTS_KEPT = 20_000
_AMOUNTS: dict[int, orjson.Fragment] = {}


def _timestamp(processed: Convert) -> Convert:
    def text(value: str | None) -> str | None:
        # SQLAlchemy's storage format: "2026-05-01 12:34:56.000000" (always six digits).
        if value is None:
            return None
        if len(value) == 26 and value[10] == " " and value[19] == "." and value[20:].isdigit():
            fraction = value[20:]
            whole = f"{value[:10]}T{value[11:19]}"
            return f"{whole}Z" if fraction == "000000" else f"{whole}.{fraction}Z"
        typed = processed(value)
        return None if typed is None else timestamp_text(typed)

    return text


def _date(processed: Convert) -> Convert:
    def text(value: str | None) -> str | None:
        if value is None:
            return None
        if len(value) == 10 and value[4] == "-" and value[7] == "-":
            return value
        typed: date | None = processed(value)
        return None if typed is None else typed.isoformat()

    return text


def _boolean(value: int | None) -> bool | None:
    return None if value is None else bool(value)


def _same(value: Any) -> Any:
    return value


def converter(column: ColumnElement[Any], dialect: Dialect) -> Convert:
    """What turns the driver's value of this column into the JSON's (SQLite)."""
    kind = column.type
    processed = kind._cached_result_processor(dialect, None) or _same
    if isinstance(kind, Amount):
        return money_fragment
    if isinstance(kind, UTCDateTime):
        return _timestamp(processed)
    python_type = _python_type(kind)
    if python_type is bool:
        return _boolean
    if python_type is date:
        return _date(processed)
    if python_type is datetime:  # a naive timestamp: none on the orders table
        return processed
    return _same


def _python_type(kind: Any) -> type | None:
    try:
        return kind.python_type
    except NotImplementedError:
        return None


#: Per column list and dialect: the columns' names and converters (the lists are few).
#: Each entry holds its columns too, so no id in a key is ever reused by another object.
_MADE: dict[tuple[tuple[int, ...], str], tuple[list[str], list[Convert], object]] = {}


def _converters(
    columns: tuple[ColumnElement[Any], ...], dialect: Dialect
) -> tuple[list[str], list[Convert]]:
    key = (tuple(map(id, columns)), dialect.name)
    made = _MADE.get(key)
    if made is None:
        names = [str(column.key) for column in columns]
        made = _MADE[key] = (names, [converter(column, dialect) for column in columns], columns)
    return made[0], made[1]


def typed(column: ColumnElement[Any], dialect: Dialect, value: Any) -> Any:
    """The driver's value of this column as SQLAlchemy reads it (for a cursor's values)."""
    processed = column.type._cached_result_processor(dialect, None)
    return value if processed is None else processed(value)


def encoded_rows(
    conn: Connection,
    stmt: Executable,
    columns: Sequence[ColumnElement[Any]],
    params: dict[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], Sequence[Any]]:
    """The statement's rows as dicts of JSON-ready values (keyed by the columns' names, in
    their order), and the driver's rows they came from."""
    result = conn.execute(stmt, params)
    try:
        raw = result.cursor.fetchall()  # the driver's values: no result processing
    finally:
        result.close()
    return encode(raw, columns, conn.dialect), raw


def driver_rows(conn: Connection, sql: str, params: tuple[Any, ...]) -> Sequence[Any]:
    """The driver's rows of a statement compiled already (no result processing)."""
    result = conn.exec_driver_sql(sql, params)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def encoded_driver_rows(
    conn: Connection, sql: str, params: tuple[Any, ...], columns: Sequence[ColumnElement[Any]]
) -> tuple[list[dict[str, Any]], Sequence[Any]]:
    """`encoded_rows` of a statement compiled already: its SQL and its driver parameters."""
    raw = driver_rows(conn, sql, params)
    return encode(raw, columns, conn.dialect), raw


def encode(
    raw: Sequence[Any], columns: Sequence[ColumnElement[Any]], dialect: Dialect
) -> list[dict[str, Any]]:
    """The driver's rows of these columns as dicts of JSON-ready values."""
    names, converts = _converters(tuple(columns), dialect)
    if not raw:
        return []
    # Column by column: each converter mapped over its column, then the rows zipped back.
    values = [
        column if convert is _same else list(map(convert, column))
        for column, convert in zip(zip(*raw, strict=True), converts, strict=True)
    ]
    return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]
