"""The bulk writes' UTCDateTime conversion on SQLite (store/bulk.py `sqlite_utc_text`) is
SQLAlchemy's own (the type's `process_bind_param`, then SQLite's DATETIME text), the oracle
here, for any zoned time; other columns and PostgreSQL keep SQLAlchemy's processors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from orderhub.store.bulk import bind_processor, sqlite_utc_text
from orderhub.store.tables import orders
from orderhub.store.types import UTCDateTime

SQLITE = sqlite.dialect()
ORACLE = UTCDateTime().dialect_impl(SQLITE).bind_processor(SQLITE)
OFFSETS = st.integers(-23 * 60, 23 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
ZONES = st.one_of(st.just(UTC), OFFSETS)
MOMENTS = st.datetimes(datetime(2, 1, 1), datetime(9998, 12, 30), timezones=ZONES)


@given(MOMENTS)
def test_a_zoned_time_is_written_as_sqlalchemy_writes_it(value: datetime) -> None:
    assert ORACLE is not None
    assert sqlite_utc_text(value) == ORACLE(value)


def test_none_and_naive_times_as_sqlalchemy() -> None:
    assert ORACLE is not None
    assert sqlite_utc_text(None) is None is ORACLE(None)
    naive = datetime(2026, 1, 2, 3, 4, 5)
    for convert in (ORACLE, sqlite_utc_text):
        with pytest.raises(ValueError, match="a zoned datetime is required"):
            convert(naive)
    assert sqlite_utc_text(datetime(2026, 1, 2, tzinfo=UTC)) == "2026-01-02 00:00:00.000000"


def test_only_utc_datetime_columns_on_sqlite_take_it() -> None:
    taken = {c.name for c in orders.c if bind_processor(c, SQLITE) is sqlite_utc_text}
    assert taken == {c.name for c in orders.c if isinstance(c.type, UTCDateTime)}
    assert "updated_at" in taken
    pg = postgresql.dialect()
    assert all(bind_processor(c, pg) is not sqlite_utc_text for c in orders.c)
