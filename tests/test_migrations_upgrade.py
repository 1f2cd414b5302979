"""Upgrading an installed database keeps its data: from every revision (and from the four heads
the old `upgrade heads` left), with a row in every table written in plain SQL for that
revision's schema, to the head, on SQLite and PostgreSQL. The expected values are written here
by hand; the hub's codecs and types only read them back."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import Engine, make_url, text

from conftest import TEST_SECRET_KEY
from helpers import api_key, auth_header
from orderhub.api.app import create_app
from orderhub.store import SyncRepository, UnitOfWork, make_engine, upgrade
from orderhub.store.migrate import MIGRATIONS, current_revision

SCRIPT = ScriptDirectory(str(MIGRATIONS))
#: Every revision on its own, then the state every database had before the merge revision.
STARTS = [(rev.revision,) for rev in reversed(list(SCRIPT.walk_revisions()))] + [
    ("0003", "0004", "0005", "0007")
]

T_CREATED = datetime(2026, 5, 31, 18, 50, 21, tzinfo=UTC)
T_UPDATED = datetime(2026, 6, 5, 3, 50, 4, 250000, tzinfo=UTC)
T_EVENT = datetime(2026, 6, 5, 9, 0, tzinfo=UTC)
BIG_ID = 9_007_199_254_740_993  # 2**53 + 1: a 64-bit id no float can hold
TOKEN = "ohk_0123456789ab_migration-test-secret-of-the-warehouse-key"

LINES = (
    '[{"line_id":"1","sku":"SKU-04319","name":"Jógová podložka","type":"article","quantity":2,'
    '"unit_price":582.50,"tax_rate":21.00,"tax_amount":202.19,"total":1165.00,'
    '"delivered_quantity":0,"cancelled_quantity":0,"returned_quantity":0},'
    '{"line_id":"2","sku":null,"name":"Doprava","type":"postage","quantity":1,'
    '"unit_price":62.50,"tax_rate":21.00,"tax_amount":10.85,"total":62.50,'
    '"delivered_quantity":0,"cancelled_quantity":0,"returned_quantity":0}]'
)
ADDRESS = (
    '{"name":"Lukáš Novák","company":null,"street":"Údolní 5","street2":null,"city":"Brno",'
    '"zip":"60200","region":null,"country":"CZ","phone":"+420600111222","email":null}'
)
HISTORY = (
    '[{"status":"open","at":"2026-05-31T18:50:21Z","source":"channel"},'
    '{"status":"shipped","at":"2026-06-05T03:50:04Z","source":"api"}]'
)
EXTRA = '{"gift":{"wrap":true,"note":"Všechno nejlepší"},"mall":{"branch_id":17}}'


@dataclass(frozen=True)
class Seed:
    """A row of one table as the revision that created it wrote it, plus later columns."""

    table: str
    revision: str
    row: dict[str, Any]
    #: Columns a later revision added: revision -> {column: value}.
    later: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Columns a later revision added and filled in itself: revision -> {column: its value}.
    filled: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The id the database gives the row (None: the table's key is in `row`).
    id: int | None = 1


SEEDS = [
    Seed(
        "orders",
        "0001",
        {
            "channel": "mall-cz", "channel_type": "mall", "external_id": "4300000042",
            "status": "shipped", "channel_status": "shipped", "payment_status": "paid",
            "confirmed": True, "test": False, "created_at": T_CREATED, "updated_at": T_UPDATED,
            "ship_date": date(2026, 6, 1), "delivered_at": None, "customer_id": BIG_ID,
            "customer": "Lukáš Novák", "email": "lukas@example.cz", "phone": "+420600111222",
            "country": "CZ", "currency": "CZK", "total": Decimal("1227.50"),
            "subtotal": Decimal("1165.00"), "shipping_cost": Decimal("62.50"),
            "discount": Decimal("0.0001"), "tax_total": Decimal("213.04"), "cod": None,
            "payment_method": "card", "tracking_number": "Z-123.45",
            "tracking_url": "https://track.example/Z-123.45", "vendor_ref": "PO-77",
            "language": "cs", "shipping_address": ADDRESS, "billing_address": None,
            "lines": LINES, "status_history": HISTORY, "extra": EXTRA, "version": 3,
        },
        later={
            "0006": {"carrier": "PPL"},
            "0007": {"push_status": "refused", "push_error": "MALL: cannot ship a cancelled order"},
        },
    ),
    Seed(
        "events",
        "0002",
        {
            "event_id": "evt_01JXMIGRATION0000000000001", "type": "order.updated",
            "order_id": 1, "occurred_at": T_EVENT, "source": "api", "actor": "warehouse",
            "data": '{"changes":[{"field":"vendor_ref","old":null,"new":"PO-77"}]}',
        },
        filled={"0013": {"sequence": 1}},  # the order's first event
    ),
    Seed(
        "order_changes",
        "0002",
        {
            "order_id": 1, "event_id": "evt_01JXMIGRATION0000000000001", "at": T_EVENT,
            "source": "api", "actor": "warehouse", "field": "vendor_ref", "old": "null",
            "new": '"PO-77"',
        },
    ),
    Seed(
        "outbox",
        "0002",
        {
            "topic": "mail", "dedupe_key": "mail:1:shipped", "order_id": 1,
            "payload": '{"to":"lukas@example.cz","subject":"Odesláno","language":"cs"}',
            "status": "pending", "attempts": 2, "next_attempt_at": T_EVENT,
            "lease_owner": None, "lease_until": None, "last_error": "SMTP 451 try later",
            "created_at": T_UPDATED, "delivered_at": None,
        },
    ),
    Seed(
        "api_keys",
        "0003",
        {
            "name": "warehouse", "prefix": "0123456789ab",
            "hash": hashlib.sha256(TOKEN.encode()).hexdigest(),
            "scopes": "orders:read,orders:write,admin", "daily_limit": 1_000_000,
            "created_at": T_CREATED, "revoked_at": None,
        },
    ),
    Seed("key_usage", "0003", {"key_id": 1, "day": date(2026, 6, 4), "count": 17}, id=None),
    Seed(
        "idempotency_keys",
        "0011",
        {
            "api_key_id": 1, "key": "retry-1", "fingerprint": "0f" * 32, "owner": None,
            "lease_until": None, "status": 201, "headers": '{"content-type":"application/json"}',
            "body": b'{"id":1,"secret":"whsec_bWlncmF0aW9uLXRlc3Qtc2VjcmV0"}',
            "created_at": T_EVENT,
        },
        id=None,
    ),
    Seed(
        "channel_state",
        "0004",
        {
            "channel": "mall-cz", "channel_type": "mall",
            "cursor": '{"updated_from":"2026-06-05T03:50:04Z","page":2}',
            "last_success_at": T_EVENT, "last_run_id": 1, "updated_at": T_EVENT,
        },
        id=None,
    ),
    Seed(
        "sync_runs",
        "0004",
        {
            "channel": "mall-cz", "full": False, "status": "ok", "started_at": T_UPDATED,
            "finished_at": T_EVENT, "orders_new": 120, "orders_changed": 5,
            "orders_unchanged": 3, "quarantined": 1, "acknowledged": 120, "requests": 9,
            "retries": 1, "errors": 0, "seconds": 2.5, "error": None,
        },
    ),
    Seed(
        "quarantine",
        "0004",
        {
            "channel": "mall-cz", "record_key": "4300000099", "external_id": "4300000099",
            "reason": "status: 'teleported' is not a MALL status",
            "payload": '{"id":4300000099,"status":"teleported"}', "first_seen": T_UPDATED,
            "last_seen": T_EVENT, "run_id": 1,
        },
    ),
    Seed(
        "webhook_subscriptions",
        "0005",
        {
            "url": "https://hooks.example/orders", "event_types": "order.created,order.updated",
            "filter": "channel=mall-cz&status=in:shipped",
            "secret": "whsec_bWlncmF0aW9uLXRlc3Qtc2VjcmV0", "active": True,
            "disabled_reason": None, "created_at": T_CREATED,
        },
        filled={"0016": {"max_per_second": 50}},  # the default rate
        later={
            "0012": {"previous_secret": None, "previous_secret_until": None},
            "0016": {"failing_since": None, "paced_until": None},
        },
    ),
    Seed(
        "sync_schedule",
        "0009",
        {
            "channel": "mall-cz", "next_due_at": T_EVENT, "lease_owner": "host:4242:1",
            "lease_until": T_UPDATED, "consecutive_failures": 3, "last_started_at": T_CREATED,
            "updated_at": T_UPDATED,
        },
        id=None,
    ),
    Seed(
        "shipments",
        "0014",
        {
            "order_id": 1,
            "lines": '[{"line_id":"1","sku":"SKU-04319","quantity":2,"total_after":2}]',
            "amount": Decimal("1165.00"), "created_at": T_EVENT, "created_by": "warehouse",
            "push_status": "unsupported", "push_error": "MALL: no call for a shipment of lines",
            "carrier": "PPL", "tracking_number": "Z-99.01",  # an earlier parcel than the order's
            "tracking_url": "https://track.example/Z-99.01",
        },
    ),
    Seed(
        "line_changes",
        "0014",
        {
            "order_id": 1,
            "lines": '[{"line_id":"1","sku":"SKU-04319","quantity":1,"total_after":1}]',
            "amount": Decimal("582.5000"), "created_at": T_EVENT, "created_by": "cli:anna",
            "push_status": None, "push_error": None, "kind": "return", "reason": "rozbité",
        },
    ),
    Seed("order_tags", "0015", {"order_id": 1, "tag": "vip:gold"}, id=None),
    Seed(
        "views",
        "0018",
        {
            "name": "open-cz", "query": "status=open&channel=mall-cz&q=novák",
            "created_at": T_CREATED, "updated_at": T_UPDATED,
        },
    ),
    Seed(
        "users",
        "0020",
        {
            "email": "lukas@example.cz", "role": "staff",
            "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
            "created_at": T_CREATED, "updated_at": T_UPDATED, "password_changed_at": T_CREATED,
            "disabled_at": None,
        },
    ),
    Seed(
        "web_sessions",
        "0020",
        {
            "id": hashlib.sha256(b"session token").hexdigest(), "user_id": 1,
            "csrf": "form-token", "created_at": T_CREATED, "last_seen_at": T_UPDATED,
            "expires_at": T_EVENT,
        },
        id=None,
    ),
    Seed(
        "login_failures",
        "0020",
        {"email": "lukas@example.cz", "address": "192.0.2.1", "at": T_EVENT},
    ),
]  # fmt: skip


#: Columns kept sealed since 0017 (docs/secrets.md): written sealed by a seed of that schema,
#: and compared opened, with the tests' key (conftest.py).
SEALED = {"webhook_subscriptions": ("secret", "previous_secret"), "idempotency_keys": ("body",)}
SEALED_SINCE = "0016"
FERNET = Fernet(TEST_SECRET_KEY.encode())


def sealed_as_written(table: str, row: dict[str, Any], done: set[str]) -> dict[str, Any]:
    if SEALED_SINCE not in done:
        return row
    names = SEALED.get(table, ())
    return {k: _through(FERNET.encrypt, v) if k in names and v else v for k, v in row.items()}


def opened(table: str, row: dict[str, Any]) -> dict[str, Any]:
    names = SEALED.get(table, ())
    return {k: _through(FERNET.decrypt, v) if k in names and v else v for k, v in row.items()}


def _through(change: Any, value: str | bytes) -> str | bytes:
    """Text columns hold the token as text, binary ones as bytes."""
    if isinstance(value, str):
        return str(change(value.encode()).decode())
    return bytes(change(bytes(value)))


def raw(value: Any, dialect: str) -> Any:
    """A value as the database keeps it: SQLite has money in 1/10,000 units and naive UTC text."""
    if dialect != "sqlite":
        return value
    if isinstance(value, Decimal):
        return int(value * 10_000)
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


@pytest.fixture(scope="session")
def pg_scratch(pg_database: str) -> Iterator[str]:
    """A second PostgreSQL database of this session, emptied by each test."""
    admin = make_engine(pg_database, isolation_level="AUTOCOMMIT")
    url = make_url(pg_database)
    name = f"{url.database}_migrations"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def blank(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a database with no tables at all."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'installed.db'}")
    else:
        engine = make_engine(request.getfixturevalue("pg_scratch"))
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    try:
        yield engine
    finally:
        engine.dispose()


def applied(starts: tuple[str, ...]) -> set[str]:
    return {rev.revision for start in starts for rev in SCRIPT.iterate_revisions(start, "base")}


def install(engine: Engine, starts: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Migrate to `starts`, write the seeds that schema has; the rows expected at the head."""
    for start in starts:
        upgrade(engine, start)
    done, dialect = applied(starts), engine.dialect.name
    expected: dict[str, dict[str, Any]] = {}
    with engine.begin() as conn:
        for seed in SEEDS:
            if seed.revision not in done:
                continue
            row = dict(seed.row)
            for revision, columns in seed.later.items():
                row |= columns if revision in done else dict.fromkeys(columns)
            computed: dict[str, Any] = {}  # by a migration still to run
            for revision, columns in seed.filled.items():
                row, computed = (
                    (row | columns, computed) if revision in done else (row, computed | columns)
                )
            written = {k: v for k, v in row.items() if v is not None}
            names = ", ".join(f'"{name}"' for name in written)
            marks = ", ".join(f":{name}" for name in written)
            values = {k: raw(v, dialect) for k, v in written.items()}
            values = sealed_as_written(seed.table, values, done)
            conn.execute(text(f"INSERT INTO {seed.table} ({names}) VALUES ({marks})"), values)
            ids = {} if seed.id is None else {"id": seed.id}
            expected[seed.table] = ids | {k: raw(v, dialect) for k, v in (row | computed).items()}
    return expected


@pytest.mark.parametrize("starts", STARTS, ids=["+".join(s) for s in STARTS])
def test_upgrade_to_head_keeps_every_row(blank: Engine, starts: tuple[str, ...]) -> None:
    expected = install(blank, starts)
    upgrade(blank)
    assert current_revision(blank) == SCRIPT.get_current_head()
    tables = {seed.table for seed in SEEDS}
    with blank.connect() as conn:
        for table in sorted(tables):
            found = conn.execute(text(f"SELECT * FROM {table}"))
            rows = [opened(table, dict(r._mapping)) for r in found]
            assert rows == ([expected[table]] if table in expected else []), table
    check_the_app_reads_and_writes(blank, applied(starts))


def check_the_app_reads_and_writes(engine: Engine, done: set[str]) -> None:
    check_the_repositories_read(engine, done)
    check_the_api_reads_and_writes(engine, done)


def check_the_repositories_read(engine: Engine, done: set[str]) -> None:
    with UnitOfWork(engine) as uow:
        stored = uow.orders.get(1)
        assert stored is not None
        order = stored.to_order()
        runs = SyncRepository(uow.conn).last_runs()
    assert (order.customer_id, order.total, order.discount) == (
        BIG_ID,
        Decimal("1227.50"),
        Decimal("0.0001"),
    )
    assert (order.created_at, order.updated_at) == (T_CREATED, T_UPDATED)
    assert [(line.name, line.unit_price, line.sku) for line in order.lines] == [
        ("Jógová podložka", Decimal("582.50"), "SKU-04319"),
        ("Doprava", Decimal("62.50"), None),
    ]
    assert order.shipping_address is not None and order.shipping_address.street == "Údolní 5"
    assert order.extra == {
        "gift": {"wrap": True, "note": "Všechno nejlepší"},
        "mall": {"branch_id": 17},
    }
    assert order.carrier == ("PPL" if "0006" in done else None)
    assert order.tags == (["vip:gold"] if "0015" in done else [])
    assert [(name, run.counts.orders_new) for name, run in runs.items()] == (
        [("mall-cz", 120)] if "0004" in done else []
    )


def check_the_api_reads_and_writes(engine: Engine, done: set[str]) -> None:
    # The key written as a row authenticates when its revision was there (admin scope: all).
    token = TOKEN if "0003" in done else api_key(engine)
    http = TestClient(create_app(engine), headers=auth_header(token))
    shown = http.get("/v1/orders/1")
    assert shown.status_code == 200, shown.text
    body = json.loads(shown.text, parse_float=Decimal)
    assert (body["external_id"], body["total"], body["customer_id"]) == (
        "4300000042",
        Decimal("1227.50"),
        BIG_ID,
    )
    assert body["tags"] == (["vip:gold"] if "0015" in done else [])
    assert body["status_history"][-1] == {
        "status": "shipped",
        "at": "2026-06-05T03:50:04Z",
        "source": "api",
    }
    assert body["push_status"] == ("refused" if "0007" in done else None)
    history = http.get("/v1/orders/1/history")
    assert history.status_code == 200, history.text
    changes = [(h["field"], h["old"], h["new"]) for h in history.json()["history"]]
    assert changes == ([("vendor_ref", None, "PO-77")] if "0002" in done else [])
    # The order stored before the search index (0017) is found by it: the migration filled it.
    for q in ("sku-04319", "lukas@example", "4300000042", "Z-123.45", "po-77"):
        found = http.get("/v1/orders", params={"q": q})
        assert [o["id"] for o in found.json()["data"]] == [1], (q, found.text)
    # ... and by a shipment's own tracking number (0019 on PostgreSQL, 0022 on SQLite: indexed).
    parcel = http.get("/v1/orders", params={"q": "z-99.01"}).json()["data"]
    assert [o["id"] for o in parcel] == ([1] if "0014" in done else [])
    # The app writes on the upgraded schema too (PostgreSQL's id sequences included).
    put = http.put("/v1/orders/1", json={"vendor_ref": "PO-78"})
    assert put.status_code == 200, put.text
    assert put.json()["vendor_ref"] == "PO-78"
    assert put.headers["etag"] != shown.headers["etag"]
    after = http.get("/v1/orders/1/history").json()["history"]
    assert [(h["field"], h["old"], h["new"]) for h in after] == [
        *changes,
        ("vendor_ref", "PO-77", "PO-78"),
    ]
