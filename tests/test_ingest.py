"""`orderhub generate`'s bulk path (store/ingest.py, services/generate.py) on SQLite and
PostgreSQL: every generated order stored once, exact, and searchable; the same rows and the
same search documents as the repository's own upsert and the search trigger write."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, text

from helpers import client, store
from orderhub.domain import Order
from orderhub.domain.samples import generate_orders
from orderhub.services.generate import default_workers, write_orders
from orderhub.store import UnitOfWork
from orderhub.store.ingest import BulkWriter, EncodedBatch, encode_batch, encode_samples
from orderhub.store.orders import INDEXED_AS_A_BATCH_FROM
from orderhub.store.tables import orders

SEED = 23
COUNT = 260
#: Small batches and two producer processes: the batched, multi-process path at a test's size.
BATCH = 100
EVERY_STATUS = (
    "pending,open,backordered,shipping,partially_shipped,shipped,delivered,returning,"
    "returned,cancelled,failed,lost"
)


def _generated() -> list[Order]:
    return list(generate_orders(COUNT, SEED))


def _total(http: Any, query: str) -> int:
    response = http.get(f"/v1/orders?status=in:{EVERY_STATUS}&test=in:0,1&page_size=1&{query}")
    assert response.status_code == 200, response.text
    total: int = response.json()["paging"]["total"]
    return total


def test_every_generated_order_is_stored_once_exact_and_searchable(engine: Engine) -> None:
    expected = _generated()
    write_orders(engine, COUNT, SEED, workers=2, batch=BATCH)
    write_orders(engine, COUNT, SEED, workers=2, batch=BATCH)  # the same seed again: no new row

    with engine.connect() as conn:
        keys = set(conn.execute(text("SELECT channel, external_id FROM orders")).all())
        sums = conn.execute(text("SELECT currency, total FROM orders")).all()
    assert keys == {(o.channel, o.external_id) for o in expected}
    assert len(keys) == COUNT
    stored_sums: Counter[str] = Counter()
    for currency, total in sums:
        stored_sums[currency] += Decimal(total) / (10_000 if isinstance(total, int) else 1)
    expected_sums: Counter[str] = Counter()
    for order in expected:
        expected_sums[order.currency] += order.total
    assert stored_sums == expected_sums

    http = client(engine)
    assert _total(http, "") == COUNT
    for order in expected[::37]:  # each found by its channel's id, alone
        found = http.get(f"/v1/orders?q={order.external_id}&status=in:{EVERY_STATUS}&test=in:0,1")
        assert [o["external_id"] for o in found.json()["data"]] == [order.external_id]
    novak = sum(1 for o in expected if "novak" in f"{o.customer} {o.email}".lower())
    assert novak > 0
    assert _total(http, "q=novak") == novak
    sku = expected[5].lines[0].sku
    assert _total(http, f"q={sku}") == sum(1 for o in expected if sku in {x.sku for x in o.lines})


def test_bulk_rows_are_the_repository_upserts_rows(engine: Engine) -> None:
    """The encoded rows (the columns' bind conversions applied in another process) are what
    `upsert_many` writes; on SQLite the batch's search documents are the trigger's."""
    write_orders(engine, COUNT, SEED, workers=2, batch=BATCH)
    bulk = _dump(engine)
    _empty(engine)
    _by_trigger(engine, _generated())
    assert _dump(engine) == bulk
    assert len(bulk[0]) == COUNT


def test_a_first_sync_page_is_indexed_as_the_trigger_does(engine: Engine) -> None:
    """merge_from_channel of a page of new orders (a first sync): its new rows indexed in one
    statement (INDEXED_AS_A_BATCH_FROM), the same documents as the trigger's, ids 64-bit."""
    page = [replace(o, id=None) for o in _generated()[:120]]
    assert len(page) >= INDEXED_AS_A_BATCH_FROM
    _ids_from_2_62(engine, page[0])
    with UnitOfWork(engine) as uow:
        result = uow.orders.merge_from_channel(page)
    assert len(result.created) == len(page)
    assert min(result.created) > 2**62
    merged = _dump(engine)
    _empty(engine)
    _ids_from_2_62(engine, page[0])
    _by_trigger(engine, page)
    assert _dump(engine) == merged
    http = client(engine)
    assert _total(http, f"q={page[7].external_id}") == 1


def test_a_large_upsert_of_orders_given_their_ids_is_indexed(engine: Engine) -> None:
    """Ids given below the largest stored one (not "above the largest id"): still indexed."""
    _ids_from_2_62(engine, _generated()[0])
    page = [replace(o, id=1000 + n) for n, o in enumerate(_generated()[1:61])]
    store(engine, page)
    http = client(engine)
    assert _total(http, f"q={page[-1].external_id}") == 1
    assert _total(http, "") == len(page) + 1


def _ids_from_2_62(engine: Engine, order: Order) -> None:
    """An order with the id 2^62, so new orders get ids above it (ids are 64-bit)."""
    store(engine, [replace(order, external_id="9-big", id=2**62)])
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('orders', 'id'), {2**62})"))


def _by_trigger(engine: Engine, batch: list[Order]) -> None:
    """upsert_many in pieces too small for the batch index: the search trigger row by row."""
    step = INDEXED_AS_A_BATCH_FROM - 1
    for start in range(0, len(batch), step):
        store(engine, batch[start : start + step])


def test_the_search_trigger_is_back_after_a_bulk_write(engine: Engine) -> None:
    write_orders(engine, COUNT, SEED, workers=1, batch=BATCH)
    http = client(engine)
    order_id = http.get("/v1/orders?q=novak&page_size=1").json()["data"][0]["id"]
    before = _total(http, "q=zz-renamed")
    response = http.put(f"/v1/orders/{order_id}", json={"vendor_ref": "ZZ-RENAMED-1"})
    assert response.status_code == 200, response.text
    assert _total(http, "q=zz-renamed") == before + 1
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            triggers = conn.execute(
                text(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger'"
                    " AND tbl_name = 'orders' ORDER BY name"
                )
            ).scalars()
            assert list(triggers) == [
                "order_texts_delete",
                "order_texts_insert",
                "order_texts_update",
                "orders_search_delete",
                "orders_search_insert",
                "orders_search_update",
            ]


def _dump(engine: Engine) -> tuple[list[Any], list[Any]]:
    """Every row but its id and `confirmed` (a merge leaves new orders unconfirmed), and on
    SQLite every search document with its order's id taken out (ids follow the order of the
    writes, which differs: batches against one statement)."""
    columns = [c for c in orders.c if c.name not in ("id", "confirmed")]
    with engine.connect() as conn:
        rows = conn.execute(orders.select().with_only_columns(*columns).order_by(*columns)).all()
        docs: list[Any] = []
        if engine.dialect.name == "sqlite":
            docs = conn.execute(
                text(
                    "SELECT o.channel, o.external_id, substr(s.doc, length(o.id) + 1),"
                    " substr(s.doc, 1, length(o.id) + 1) = o.id || ' '"
                    " FROM orders_search s JOIN orders o ON o.id = s.rowid"
                    " ORDER BY o.channel, o.external_id"
                )
            ).all()
            count = conn.execute(text("SELECT count(*) FROM orders_search")).scalar_one()
            assert count == len(rows)
    return [tuple(row) for row in rows], [tuple(doc) for doc in docs]


def _empty(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("DELETE FROM orders"))
        else:
            conn.execute(text("TRUNCATE orders RESTART IDENTITY CASCADE"))


def test_sample_rows_are_the_orders_rows_on_both_databases() -> None:
    """The rows made straight from the random stream (domain/sample_rows.py) are, value for
    value and byte for byte, those of the Order objects, across chunks and partial chunks."""
    for seed, start, count in ((1, 0, 3000), (7, 1_500, 2_700), (SEED, 998, 5)):
        generated = list(generate_orders(count, seed, start))
        assert len(generated) == count
        old = encode_batch("sqlite", generated)
        new = encode_samples("sqlite", seed, start, count)
        assert new.rows == old.rows
        assert new.channel_types == old.channel_types
        old_copy = encode_batch("postgresql", generated)
        new_copy = encode_samples("postgresql", seed, start, count)
        assert new_copy.copy_text == old_copy.copy_text
        assert new_copy.channel_types == old_copy.channel_types


def test_sqlite_gets_one_producer_and_postgresql_one_a_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite's single writer is slower than one producer (docs/performance.md, "Ingest")."""
    monkeypatch.setattr("os.cpu_count", lambda: 6)
    assert default_workers("sqlite") == 1
    assert default_workers("postgresql") == 6


def test_a_load_into_an_empty_table_writes_what_the_upsert_path_writes(engine: Engine) -> None:
    """The empty table's load (indexes built at the end, PostgreSQL's direct COPY over two
    connections): the same rows, the same search documents, the same indexes, and the same
    ids (on PostgreSQL the same within each batch: the upsert path's INSERT ... SELECT gives
    a batch's ids in the staging table's scan order)."""
    indexes_before = _indexes(engine)
    write_orders(engine, COUNT, SEED, workers=2, batch=BATCH, empty_load=False)
    upserted = _by_key(engine)
    _empty(engine)  # ids from 1 again (SQLite: the largest rowid + 1)
    write_orders(engine, COUNT, SEED, workers=2, batch=BATCH)
    loaded = _by_key(engine)
    assert _indexes(engine) == indexes_before
    assert len(loaded) == COUNT
    if engine.dialect.name == "sqlite":
        assert loaded == upserted
    else:
        assert _batch_of_id(loaded) == _batch_of_id(upserted)
    http = client(engine)
    assert _total(http, f"q={_generated()[11].external_id}") == 1
    assert _total(http, "q=novak") == sum(
        1 for o in _generated() if "novak" in f"{o.customer} {o.email}".lower()
    )
    write_orders(engine, COUNT, SEED, workers=2, batch=BATCH)  # not empty: the upsert path
    assert _by_key(engine) == loaded


def _by_key(engine: Engine) -> dict[tuple[str, str], tuple[Any, ...]]:
    """Each order's row (its id first) and on SQLite its search document, by its key."""
    with engine.connect() as conn:
        rows = conn.execute(orders.select()).all()
        docs: dict[int, str] = {}
        if engine.dialect.name == "sqlite":
            found = conn.execute(text("SELECT rowid, doc FROM orders_search")).all()
            docs = {rowid: doc for rowid, doc in found}
    return {(row.channel, row.external_id): (*row, docs.get(row.id)) for row in rows}


def _batch_of_id(
    by_key: dict[tuple[str, str], tuple[Any, ...]],
) -> dict[tuple[str, str], tuple[Any, ...]]:
    return {key: ((row[0] - 1) // BATCH, *row[1:]) for key, row in by_key.items()}


def _indexes(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            found = conn.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'orders'")
            )
        else:
            found = conn.execute(
                text("SELECT indexname FROM pg_indexes WHERE tablename = 'orders'")
            )
        return set(found.scalars())


def test_a_batch_partly_stored_already_is_indexed_as_the_trigger_does(engine: Engine) -> None:
    """A batch whose first half is stored (its documents then built from the rows, not the
    writer's): the same rows and search documents as the trigger's path."""
    write_orders(engine, 150, SEED, workers=1, batch=BATCH)
    write_orders(engine, COUNT, SEED, workers=2, batch=BATCH)
    bulk = _dump(engine)
    _empty(engine)
    _by_trigger(engine, _generated())
    assert _dump(engine) == bulk
    assert len(bulk[0]) == COUNT


def test_a_later_run_creates_the_indexes_a_killed_load_left_dropped(engine: Engine) -> None:
    indexes = _indexes(engine)
    write_orders(engine, COUNT, SEED, workers=1, batch=BATCH)
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_orders_email"))
    write_orders(engine, 10, SEED + 1, workers=1)
    assert _indexes(engine) == indexes


def test_a_load_that_fails_midway_builds_the_indexes_again(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    indexes = _indexes(engine)
    write = BulkWriter.write
    written: list[int] = []

    def fail_on_the_third(writer: BulkWriter, batch: EncodedBatch) -> None:
        if len(written) == 2:
            raise RuntimeError("the third batch fails")
        written.append(batch.count)
        write(writer, batch)

    monkeypatch.setattr(BulkWriter, "write", fail_on_the_third)
    with pytest.raises(RuntimeError):
        write_orders(engine, COUNT, SEED, workers=1, batch=BATCH)
    assert _indexes(engine) == indexes
    http = client(engine)
    assert _total(http, "") == sum(written) == 2 * BATCH
    assert _total(http, f"q={_generated()[3].external_id}") == 1
