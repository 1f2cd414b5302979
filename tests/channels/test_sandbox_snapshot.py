"""Starting a SQL-backed sandbox from a snapshot on disk (channels/sandbox_snapshot.py) gives the
sandbox it would have generated in the process: the same orders, the same clock floor, the same
lists, and the same after writes and order life. The expected side is always the sandbox built
the old way (no snapshot directory), never the snapshot code.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from orderhub.channels import sandbox_snapshot
from orderhub.channels.cdon.sandbox_state import CdonSandbox
from orderhub.channels.cscart.sandbox_orders import ORDERS as CSCART_ORDERS
from orderhub.channels.cscart.sandbox_state import CsCartSandbox
from orderhub.channels.cscart.sandbox_store import CsCartOrderStore
from orderhub.channels.dexero.sandbox_state import DexeroSandbox
from orderhub.channels.mall.sandbox_orders import ORDERS as MALL_ORDERS
from orderhub.channels.mall.sandbox_state import MallSandbox
from orderhub.domain.jsonfmt import dumps

ORDERS = 2_600  # three generator chunks, the last one partial

#: Each channel's sandbox, list calls worth comparing, and an order changed by hand.
LISTS: dict[str, tuple[Callable[..., Any], list[list[tuple[str, str]]]]] = {
    "mall": (
        MallSandbox,
        [
            [("client_id", "sandbox"), ("page_size", "50"), ("page", "3")],
            [("test", "in:0,1"), ("status", "eq:shipped"), ("page_size", "20"), ("page", "2")],
            [("_sort", "customer:asc,price:desc"), ("page_size", "40"), ("page", "9")],
            [("filter", "basic"), ("page_size", "10")],
        ],
    ),
    "cscart": (
        CsCartSandbox,
        [
            [("items_per_page", "50"), ("page", "3")],
            [("sort_by", "total"), ("sort_order", "asc"), ("items_per_page", "30"), ("page", "7")],
            [("status", "C"), ("items_per_page", "25")],
        ],
    ),
    "dexero": (
        DexeroSandbox,
        [
            [("count", "50"), ("offset", "150")],
            [("sort_key", "updatedTimestamp"), ("sort_dir", "desc"), ("count", "500")],
            [
                ("sort_key", "total_order"),
                ("include_tests", "true"),
                ("count", "40"),
                ("offset", "9"),
            ],
            [("custom_field_value", "For Anna"), ("include_forms", "true"), ("count", "500")],
            [("earliest_time", "2026-05-01T10:00:00+02:00"), ("attribute_identifier", "colour")],
        ],
    ),
    "cdon": (
        CdonSandbox,
        [
            [("skip", "150"), ("take", "50")],
            [("CountryCode", "Sweden"), ("DateTimeRangeMin", "2026-03-01"), ("take", "1000")],
            [
                ("DateTimeRangeMin", "2026-05-01T10:00:00.5"),
                ("DateTimeRangeMax", "2026-09-30"),
                ("skip", "3"),
                ("take", "70"),
            ],
        ],
    ),
}


def _lists(name: str, sandbox: Any) -> list[bytes]:
    calls = LISTS[name][1]
    if name == "mall":
        return [dumps(sandbox.list_orders(p, unconfirmed=False)) for p in calls]
    if name == "dexero":
        return [dumps(sandbox.list_orders("all", p, fmt)) for p in calls for fmt in ("json", "xml")]
    return [dumps(sandbox.list_orders(p)) for p in calls]


def _change(name: str, sandbox: Any) -> None:
    """A PUT-like change by hand, then order life (new orders and moves), on a clock that
    reads the same in both sandboxes."""
    readings = itertools.count()
    sandbox.clock.now = lambda: datetime(2027, 1, 1, tzinfo=UTC) + timedelta(next(readings))
    order = sandbox.orders_json()[ORDERS // 2]
    if name == "cdon":
        order["OrderDetails"]["LastModifiedDateUtc"] = "2027-01-01T00:00:00.0000000"
    elif name == "dexero":
        order["status"] = "cancelled"
    else:
        order["status"] = "cancelled" if name == "mall" else "I"
    sandbox.put_order(order)
    sandbox.run_life([("steps", 3), ("create_orders", 2)])


@pytest.mark.parametrize("name", sorted(LISTS))
def test_a_snapshot_starts_the_sandbox_generated_in_process(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Three parts in three workers: the texts in three files, the rows merged from three.
    monkeypatch.setattr(sandbox_snapshot, "PART", 1_000)
    monkeypatch.setattr(sandbox_snapshot.os, "cpu_count", lambda: 3)
    state = LISTS[name][0]
    plain = state(ORDERS, 3)
    cold = state(ORDERS, 3, snapshots=tmp_path)  # builds the snapshot
    warm = state(ORDERS, 3, snapshots=tmp_path)  # opens it
    assert len(list(tmp_path.iterdir())) == 1
    assert len(list(next(tmp_path.iterdir()).glob("texts-*.db"))) == 3
    for sandbox in (cold, warm):
        assert sandbox.store.count() == plain.store.count() == ORDERS
        assert sandbox.clock._last == plain.clock._last
        assert sandbox.orders_json() == plain.orders_json()
        assert _lists(name, sandbox) == _lists(name, plain)
    for sandbox in (plain, warm):
        _change(name, sandbox)
    assert warm.store.count() == plain.store.count() == ORDERS + 5  # a step brings one
    assert warm.orders_json() == plain.orders_json()
    assert _lists(name, warm) == _lists(name, plain)


def test_a_second_start_opens_the_snapshot_without_building(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    MallSandbox(1_200, 5, snapshots=tmp_path)

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("built again")

    monkeypatch.setattr(sandbox_snapshot, "build_snapshot", refuse)
    assert MallSandbox(1_200, 5, snapshots=tmp_path).store.count() == 1_200
    with pytest.raises(AssertionError, match="built again"):
        MallSandbox(1_201, 5, snapshots=tmp_path)  # another count, another snapshot


def _contents(path: Path) -> list[list[tuple[Any, ...]]]:
    db = sqlite3.connect(path / "rows.db")
    rows = db.execute("SELECT * FROM cscart_orders ORDER BY rowid").fetchall()
    texts = []
    for name in json.loads((path / sandbox_snapshot.META).read_text())["texts"]:
        db = sqlite3.connect(path / name)
        texts += db.execute("SELECT * FROM texts ORDER BY rowid").fetchall()
    return [rows, texts]


def test_the_snapshot_is_the_same_whatever_the_number_of_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox_snapshot, "PART", 1_000)  # one generator chunk a part
    built = []
    for workers in (1, 3):
        path = tmp_path / f"w{workers}"
        store = CsCartOrderStore()
        sandbox_snapshot.build_snapshot(path, store, CSCART_ORDERS, 2_500, 8, None, workers)
        built.append(_contents(path))
    assert built[0] == built[1]
    assert len(built[0][0]) == len(built[0][1]) == 2_500
    assert len(list((tmp_path / "w3").glob("texts-*.db"))) == 3  # a texts file a worker
    assert not list((tmp_path / "w3").glob("rows-*.db"))  # the workers' rows, merged


def test_the_key_names_everything_the_orders_depend_on() -> None:
    key = sandbox_snapshot.snapshot_key
    anchor = datetime(2026, 1, 1, tzinfo=UTC)
    keys = {
        key("mall", 1, 1000, None),
        key("cscart", 1, 1000, None),
        key("mall", 2, 1000, None),
        key("mall", 1, 1001, None),
        key("mall", 1, 1000, anchor),
    }
    assert len(keys) == 5
    assert key("mall", 1, 1000, anchor) == key("mall", 1, 1000, anchor)


def test_file_texts_count_new_orders_once(tmp_path: Path) -> None:
    sandbox = MallSandbox(1_000, 6, snapshots=tmp_path)
    texts = sandbox.store.texts
    assert isinstance(texts, sandbox_snapshot.FileTexts)
    some = next(iter(texts))
    texts[some] = "{}"
    texts[some] = "[]"
    texts[1] = "{}"
    texts[1] = "[]"
    assert len(texts) == 1_001 and texts[some] == "[]" and texts[1] == "[]"
    assert 1 in texts and 2 not in texts and "x" not in texts
    assert sorted(texts) == sorted([*MallSandbox(1_000, 6).store.texts, 1])
    with pytest.raises(KeyError):
        texts[2]


def test_file_texts_read_many_in_their_order(tmp_path: Path) -> None:
    expected = MallSandbox(1_500, 7).store.texts
    texts = MallSandbox(1_500, 7, snapshots=tmp_path).store.texts
    assert isinstance(texts, sandbox_snapshot.FileTexts)
    ids = sorted(expected, reverse=True)[:1_200]  # more than one query's worth
    texts[ids[3]] = "changed"
    assert texts.many(ids) == [expected[i] for i in ids[:3]] + ["changed"] + [
        expected[i] for i in ids[4:]
    ]


@pytest.mark.parametrize("workers", [3, 12])  # 12: more files than SQLite attaches at once
def test_file_texts_read_across_the_workers_files(
    workers: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox_snapshot, "PART", 100)  # 15 parts
    expected = MallSandbox(1_500, 7).store.texts
    store = MallSandbox(0, 7).store
    sandbox_snapshot.build_snapshot(tmp_path / "s", store, MALL_ORDERS, 1_500, 7, None, workers)
    names = json.loads((tmp_path / "s" / sandbox_snapshot.META).read_text())["texts"]
    assert len(names) == workers
    texts = sandbox_snapshot.FileTexts([tmp_path / "s" / n for n in names], 1_500)
    ids = sorted(expected)
    edges = [
        ids[i] for edge in range(0, 1_501, 100) for i in range(edge - 2, edge + 2) if 0 <= i < 1_500
    ]
    scattered = ids[::-7] + edges
    assert texts.many(scattered) == [expected[i] for i in scattered]
    assert texts.many(ids) == [expected[i] for i in ids]  # more than one query's worth
    assert all(texts[i] == expected[i] and i in texts for i in ids[::37] + edges)
    assert sorted(texts) == ids and len(texts) == 1_500
    assert max(ids) + 1 not in texts and min(ids) - 1 not in texts
    assert texts.column("summary").get(ids[0]) is None  # MALL keeps no summary


def test_a_snapshot_of_no_orders(tmp_path: Path) -> None:
    sandbox = MallSandbox(0, 7, snapshots=tmp_path)
    assert sandbox.store.count() == 0 and sandbox.orders_json() == []
    assert MallSandbox(0, 7, snapshots=tmp_path).store.count() == 0
