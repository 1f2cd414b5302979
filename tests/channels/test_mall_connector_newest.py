"""The MALL connector's newest status timestamp of a page (`_newest`, the full pull's
watermark) is what it was when each status was scanned over the page in turn (the old path,
kept here as the oracle): one pass per payload now."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from orderhub.channels.mall.connector import WINDOWS, _newest


def _old_latest(payloads: Sequence[Any], status: str) -> str | None:
    values = [p.get(status) for p in payloads if isinstance(p, Mapping)]
    return max((v for v in values if isinstance(v, str) and v), default=None)


def _old_newest(payloads: Sequence[Any], newest: str | None) -> str | None:
    latest = (_old_latest(payloads, status) for status in WINDOWS)
    return max((t for t in (newest, *latest) if t), default=None)


_TIMES = st.sampled_from(["", "2026-01-02 03:04:05", "2026-01-02 03:04:06", "2025-12-31 23:59:59"])
_VALUES = st.one_of(st.none(), _TIMES, st.integers(), st.booleans())
_PAYLOADS = st.one_of(
    st.dictionaries(st.sampled_from([*WINDOWS, "id", "updated"]), _VALUES),
    st.integers(),  # a blocked order listed as its id
    st.none(),
)


@given(st.lists(_PAYLOADS, max_size=8), st.one_of(st.none(), _TIMES))
def test_the_newest_timestamp_is_what_it_was(payloads: list[Any], newest: str | None) -> None:
    assert _newest(payloads, newest) == _old_newest(payloads, newest)
