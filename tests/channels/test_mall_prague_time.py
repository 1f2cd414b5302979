"""channels/mall/codec_values.py `prague_to_utc`: the zone asked once an hour gives what asking
it every time gives (the oracle: `replace(tzinfo=Europe/Prague).astimezone(UTC)`), at every
change of the zone's offset, its skipped and repeated hours, and any wall time at all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from orderhub.channels.mall import codec_values
from orderhub.channels.mall.codec_values import MALL_ZONE, moment, prague_to_utc


def _oracle(wall: datetime) -> Any:
    try:
        return wall.replace(tzinfo=MALL_ZONE).astimezone(UTC)
    except OverflowError as exc:
        return type(exc)


def _fast(wall: datetime) -> Any:
    try:
        return prague_to_utc(wall)
    except OverflowError as exc:
        return type(exc)


def _same(wall: datetime) -> None:
    expected = _oracle(wall)
    for _ in range(2):  # the second time from the cache
        found = _fast(wall)
        assert found == expected, wall
        if isinstance(found, datetime):
            assert found.tzinfo is UTC and (found.utcoffset(), found.fold) == (timedelta(0), 0)


def _changes(start: int, end: int) -> list[datetime]:
    """Wall times (UTC) where the zone's offset changes, found hour by hour."""
    found = []
    at = datetime(start, 1, 1, tzinfo=UTC)
    offset = at.astimezone(MALL_ZONE).utcoffset()
    while at.year < end:
        at += timedelta(hours=1)
        now = at.astimezone(MALL_ZONE).utcoffset()
        if now != offset:
            found.append(at)
            offset = now
    return found


def test_every_minute_around_every_change_of_the_offset() -> None:
    changes = _changes(1880, 2040)
    assert len(changes) > 100  # summer times since 1916, the end of local mean time in 1891
    for change in changes:
        wall = (change.astimezone(MALL_ZONE) - timedelta(hours=3)).replace(tzinfo=None)
        for minute in range(0, 6 * 60, 1):
            _same(wall + timedelta(minutes=minute, seconds=minute % 60))


@settings(max_examples=3000)
@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)))
def test_any_wall_time(wall: datetime) -> None:
    _same(wall.replace(fold=0))


def test_the_ends_of_the_calendar() -> None:
    for wall in (datetime(1, 1, 1), datetime(1, 1, 1, 0, 59), datetime(9999, 12, 31, 23, 59)):
        _same(wall)


def test_moment_reads_prague_time_and_offsets() -> None:
    assert moment("2026-03-29 02:30:00", "x") == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert moment("2026-10-25 02:30:00", "x") == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert moment("2026-07-01 12:00:00+05:00", "x") == datetime(2026, 7, 1, 7, tzinfo=UTC)
    assert moment(None, "x") is None


def test_the_cache_is_bounded() -> None:
    codec_values._HOUR_OFFSETS.clear()
    start = datetime(2000, 1, 1)
    for hour in range(codec_values._HOUR_OFFSETS_MAX + 10):
        _same(start + timedelta(hours=hour))
    assert len(codec_values._HOUR_OFFSETS) <= codec_values._HOUR_OFFSETS_MAX
