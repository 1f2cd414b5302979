"""The MALL, CS-Cart and Dexero sandboxes' starting orders made straight from the random
stream (channels/<name>/sandbox_rows.py, domain/sample_draws.py) are those of the plain path,
byte for byte: the generated `Order`, reshaped (MALL's `as_mall`, Dexero's `as_dexero`),
written as the channel's JSON (`to_payload`), then kept by the store (`SqlOrderStore.stored`:
row values, JSON text, summary text). The expected side is always the plain path, never the
new code.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from orderhub.channels import sandbox_snapshot
from orderhub.channels.cdon.sandbox_drawn import cdon_drawn
from orderhub.channels.cdon.sandbox_orders import ORDERS as CDON_ORDERS
from orderhub.channels.cdon.sandbox_state import CdonSandbox
from orderhub.channels.cdon.sandbox_store import CdonOrderStore
from orderhub.channels.cscart.sandbox_orders import ORDERS as CSCART_ORDERS
from orderhub.channels.cscart.sandbox_rows import cscart_rows
from orderhub.channels.cscart.sandbox_state import CsCartSandbox
from orderhub.channels.cscart.sandbox_store import CsCartOrderStore
from orderhub.channels.dexero import sandbox_payload as dexero_payload
from orderhub.channels.dexero import sandbox_rows as dexero_rows
from orderhub.channels.dexero.sandbox_orders import ORDERS as DEXERO_ORDERS
from orderhub.channels.dexero.sandbox_state import DexeroSandbox
from orderhub.channels.dexero.sandbox_store import DexeroStore, shown, with_forms
from orderhub.channels.mall import sandbox_rows
from orderhub.channels.mall.sandbox_orders import ORDERS as MALL_ORDERS
from orderhub.channels.mall.sandbox_payload import mall_time
from orderhub.channels.mall.sandbox_state import MallSandbox
from orderhub.channels.mall.sandbox_store import MallOrderStore
from orderhub.channels.sandbox_life import SampleOrders
from orderhub.channels.sandbox_store import SqlOrderStore, compact_json
from orderhub.domain import PaymentStatus

Stored = tuple[datetime | None, list[tuple[Any, ...]]]


class Channel(NamedTuple):
    orders: SampleOrders
    store: type[SqlOrderStore]
    maker: Callable[..., Stored | None]
    sandbox: Callable[..., Any]
    table: str


CHANNELS = {
    "mall": Channel(
        MALL_ORDERS, MallOrderStore, sandbox_rows.mall_rows, MallSandbox, "mall_orders"
    ),
    "cscart": Channel(CSCART_ORDERS, CsCartOrderStore, cscart_rows, CsCartSandbox, "cscart_orders"),
    "dexero": Channel(
        DEXERO_ORDERS, DexeroStore, dexero_rows.dexero_rows, DexeroSandbox, "dexero_orders"
    ),
    "cdon": Channel(CDON_ORDERS, CdonOrderStore, cdon_drawn, CdonSandbox, "cdon_orders"),
}


def _plain(channel: Channel, count: int, seed: int, start: int, anchor: datetime | None) -> Stored:
    """What a snapshot's part held before: `sandbox_snapshot._build_part` without a maker."""
    store = channel.store()
    latest = None
    stored = []
    for order in channel.orders.generated(count, seed, start=start, anchor=anchor):
        if latest is None or order.updated_at > latest:
            latest = order.updated_at
        stored.append(store.stored(channel.orders.to_payload(order, seed)))
    return latest, stored


def _exactly(stored: list[tuple[Any, ...]]) -> list[tuple[str, ...]]:
    """Each value with its type (1 is not True, "1" is not 1)."""
    return [tuple(f"{type(v).__name__}:{v!r}" for v in row) for row in stored]


@pytest.mark.parametrize("name", sorted(CHANNELS))
@pytest.mark.parametrize(
    ("seed", "start", "count", "anchor"),
    [
        (1, 0, 3_000, None),  # three whole chunks
        (7, 1_500, 2_700, None),  # starts and ends inside a chunk
        (42, 998, 5, None),  # across a chunk edge
        (3, 0, 2_000, datetime(2026, 12, 7, 9, 30, tzinfo=UTC)),  # the demo's kind of "now"
        (5, 999, 1_002, datetime(2025, 3, 30, 1, 0, tzinfo=UTC)),  # Prague's clocks go forward
        (1_234_567, 10_000, 1_000, datetime(2026, 10, 25, tzinfo=UTC)),
    ],
)
def test_rows_and_texts_are_the_plain_paths(
    name: str, seed: int, start: int, count: int, anchor: datetime | None
) -> None:
    channel = CHANNELS[name]
    expected_latest, expected = _plain(channel, count, seed, start, anchor)
    made = channel.maker(count, seed, start, anchor)
    assert made is not None
    latest, stored = made
    assert len(stored) == count
    assert latest == expected_latest
    assert latest is not None and expected_latest is not None
    assert latest.isoformat() == expected_latest.isoformat()
    assert _exactly(stored) == _exactly(expected)


@pytest.mark.parametrize("name", sorted(CHANNELS))
@pytest.mark.parametrize(
    "anchor",
    [
        datetime(2026, 12, 7, 9, 30, 1, 500, tzinfo=UTC),  # a fraction of a second
        datetime(2026, 12, 7, 9, 30, tzinfo=timezone(timedelta(hours=1))),  # not UTC
    ],
)
def test_anchors_it_does_not_model_are_left_to_the_plain_path(
    name: str, anchor: datetime, tmp_path: Path
) -> None:
    channel = CHANNELS[name]
    assert channel.maker(10, 1, 0, anchor) is None
    plain = channel.sandbox(300, 2, anchor=anchor)
    cold = channel.sandbox(300, 2, anchor=anchor, snapshots=tmp_path)
    assert cold.orders_json() == plain.orders_json()
    assert cold.clock._last == plain.clock._last


def _instants() -> list[int]:
    """Every minute of the six hours around each of Prague's clock changes of 2024 to 2027,
    random seconds of those years, and of 1890 (Prague's local mean time, +0:57:44: not whole
    hours, so `_wall`'s exact path)."""
    changes = [datetime(y, m, d, 1, tzinfo=UTC) for y, m, d in (
        (2024, 3, 31), (2024, 10, 27), (2025, 3, 30), (2025, 10, 26), (2026, 3, 29),
        (2026, 10, 25), (2027, 3, 28), (2027, 10, 31))]  # fmt: skip
    around = [int(c.timestamp()) + 60 * m - 1 + s for c in changes
              for m in range(-180, 181) for s in (0, 1)]  # fmt: skip
    draw = random.Random(15)
    low, high = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp()), 1_830_000_000
    old = int(datetime(1890, 1, 1, tzinfo=UTC).timestamp())
    return (
        around
        + [draw.randrange(low, high) for _ in range(20_000)]
        + [draw.randrange(old, old + 365 * 86_400) for _ in range(500)]
    )


def test_prague_wall_time_is_mall_time() -> None:
    for seconds in _instants():
        expected = mall_time(datetime.fromtimestamp(seconds, UTC))
        assert sandbox_rows._wall(seconds) == expected, seconds


def _contents(path: Path, rows_table: str) -> list[list[tuple[Any, ...]]]:
    """Each snapshot table's rows with the type SQLite stored each value as."""
    texts = json.loads((path / sandbox_snapshot.META).read_text())["texts"]
    found: list[list[tuple[Any, ...]]] = [[], []]
    for at, (name, table) in [(0, ("rows.db", rows_table)), *((1, (t, "texts")) for t in texts)]:
        db = sqlite3.connect(path / name)
        columns = [c[1] for c in db.execute(f"PRAGMA table_info({table})")]
        typed = ", ".join(f"{c}, typeof({c})" for c in columns)
        found[at] += db.execute(f"SELECT {typed} FROM {table} ORDER BY rowid").fetchall()
        db.close()
    return found


@pytest.mark.parametrize("name", sorted(CHANNELS))
def test_a_snapshot_built_from_the_stream_is_the_plain_one(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel = CHANNELS[name]
    monkeypatch.setattr(sandbox_snapshot, "PART", 1_000)
    built = []
    for maker in (None, channel.maker):
        path = tmp_path / ("plain" if maker is None else "made")
        sandbox_snapshot.build_snapshot(
            path, channel.store(), channel.orders, 2_500, 9, None, 2, part=maker
        )
        contents = _contents(path, channel.table)
        built.append((contents, (path / sandbox_snapshot.META).read_text()))
    assert built[0] == built[1]
    assert len(built[0][0][0]) == len(built[0][0][1]) == 2_500


def test_the_dexero_orders_compared_take_every_branch_of_its_writer() -> None:
    """The seeds above reach each rare branch of `dexero_payload` (so the comparison covers
    it): a product bought twice, digital, someone else's billing, forms, both cancelled
    spellings, partly paid, refunded, a rebate, custom fields, an order never changed."""
    payloads = [
        json.loads(compact_json(DEXERO_ORDERS.to_payload(order, seed)))
        for seed, start, count in ((1, 0, 3_000), (7, 1_500, 2_700))
        for order in DEXERO_ORDERS.generated(count, seed, start=start)
    ]
    twice = [p for p in payloads if len({x["id"] for x in p["product"]}) < len(p["product"])]
    assert twice
    assert any(p["shipping_address"] is None for p in payloads)
    assert any(" att. " in (p["billing_address"] or {}).get("name", "") for p in payloads)
    assert any(p["order_form"] for p in payloads)
    assert {"canceled", "cancelled", "refunded", "pending", "untreated"} <= {
        p["status"] for p in payloads
    }
    assert any(0 < p["total_payment"] < p["total_order"] for p in payloads)
    assert any(p["total_refunded"] == p["total_order"] > 0 for p in payloads)
    assert any(x["rebate_amount"] > 0 for p in payloads for x in p["product"])
    assert any(x["custom_param"] for p in payloads for x in p["product"])
    assert any("updated_date" not in p for p in payloads)
    assert any(p["billing_address"] and p["billing_address"]["iso_country"] == "dk"
               for p in payloads)  # fmt: skip


@pytest.mark.parametrize("payment", list(PaymentStatus))
def test_dexero_payment_totals_are_the_plain_ones(payment: PaymentStatus) -> None:
    """Every total of a cent up to 30.00 (the sample orders' are nearly all multiples of 9
    cents: a third is rarely rounded there)."""
    for cents in range(3_001):
        plain = dexero_payload._payment_totals(random.Random(cents), payment, _units(cents))
        made = dexero_rows._payment_totals(random.Random(cents), payment, cents)
        assert [_units(c) for c in made] == list(plain), (payment, cents)


def test_dexero_rebates_are_the_plain_ones() -> None:
    """A line's rebate: of the sample orders' discounts (5 or 10 % of the subtotal, to the
    cent: half a cent of rebate is common) and of any discount (no whole share of the
    subtotal: rounded through Decimal's 28 digits)."""
    draw = random.Random(15)
    for n in range(40_000):
        subtotal = draw.randrange(1, 10**6)
        gross = draw.randrange(1, subtotal + 1)
        if n % 2:
            discount = draw.randrange(1, subtotal + 1)
        else:
            discount = int((_units(subtotal) * draw.choice((5, 10))).quantize(Decimal(1)))
            if not discount:
                continue
        share = _units(discount) / _units(subtotal)
        expected = dexero_payload._money(_units(gross) * share)
        assert _units(dexero_rows._rebate(gross, share)) == expected


def _units(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def test_a_dexero_snapshots_text_with_its_forms_put_back_is_the_orders_text() -> None:
    """A snapshot keeps a Dexero order's text without forms and its forms apart
    (`DexeroStore.stored`): `with_forms` of them, as the file gives them, is the order's JSON
    (`to_payload` written by the JSON writer), forms or none."""
    orders = DEXERO_ORDERS.generated(3_000, 11, start=500)
    payloads = [DEXERO_ORDERS.to_payload(order, 11) for order in orders]
    assert sum(bool(p["order_form"]) for p in payloads) > 300
    store = DexeroStore()
    for payload in payloads:
        *_, without, forms = store.stored(payload)
        assert without == compact_json(shown(payload, False))
        kept = without if forms is None else f"{without}\x01{forms}"
        assert with_forms(kept) == compact_json(payload)


def test_the_cdon_orders_compared_take_every_branch_of_their_history() -> None:
    """The seeds above reach each rule the replay mirrors: a shipping step that delivers a
    whole row, part of one or nothing, paid on delivery, returned and credited, cancelled
    paid and unpaid, the texts' rare forms."""
    texts = [row[-2] for row in _plain(CHANNELS["cdon"], 3_000, 1, 0, None)[1]]
    texts += [row[-2] for row in _plain(CHANNELS["cdon"], 2_700, 7, 1_500, None)[1]]
    orders = [json.loads(text) for text in texts]
    details = [order["OrderDetails"] for order in orders]
    rows = [row for d in details for row in d["OrderRows"]]
    pending = [d["OrderRows"] for d in details if d["State"] == "Pending"]
    assert any(r[0]["FulfillmentStatus"] == "Delivered" for r in pending)
    assert any(0 < r[0]["DeliveredQuantity"] < r[0]["Quantity"] for r in pending)
    assert {"Pending", "Invoiced", "Returned", "Cancelled"} <= {d["State"] for d in details}
    assert {"Paid", "AwaitingPayment", "Refunded", "NotApplicable"} <= {
        d["PaymentStatus"] for d in details
    }
    assert any(o["Invoices"] and o["Invoices"][0]["TotalCreditNoteAmount"] > 0 for o in orders)
    assert any(d["LastModifiedDateUtc"] > o["Invoices"][0]["BookingDateUtc"]
               for d, o in zip(details, orders, strict=True) if o["Invoices"])  # fmt: skip
    assert {"Article", "Postage", "Fee"} <= {row["ProductType"] for row in rows}
    assert any(isinstance(row["VatPercentage"], str) for row in rows)
    assert any(row["OrdinaryPricePerUnit"] > row["PricePerUnit"] for row in rows)
    customers = [d["CustomerInfo"] for d in details]
    assert any(c["ShippingAddress"]["CoAddress"] for c in customers)
    assert any(c["BillingAddress"]["StreetAddress"] == "Box 1234" for c in customers)
    assert any(c["EmailAddress"] for c in customers)
    assert len({json.dumps(c["Phones"]) for c in customers if not c["Phones"]["PhoneWork"]}) > 3
