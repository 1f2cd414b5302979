"""PostgreSQL's search document (migration 0025: the SKUs split from the lines' text where that
cannot differ from migration 0017's regular expression) is 0017's, on any text: hostile lines
written here by hand and thousands made at random from the pieces that could fool a split."""

from __future__ import annotations

import importlib.util
import random
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import Connection

from orderhub.domain.samples import generate_orders
from orderhub.store.engine import make_engine
from orderhub.store.order_rows import order_row

VERSIONS = Path(__file__).parent.parent / "src" / "orderhub" / "store" / "migrations" / "versions"
COLUMNS = "id, external_id, customer, email, vendor_ref, tracking_number, lines"

HOSTILE = [
    "",
    "[]",
    '[{"sku":"A-1","name":"x"}]',
    '[{"sku":"A-1"},{"sku":"B 2"},{"sku":""}]',
    '[{"sku" : "spaced"},{"sku":"tight"}]',
    '[{"sku":\t"tab"}]',
    '[{"sku":"esc\\"aped"}]',
    '[{"sku":"back\\\\slash"},{"sku":"x"}]',
    '[{"sku":"\\u0041"}]',
    '[{"name":"\\"sku\\":\\"fake\\"","sku":"real"}]',
    '[{"name":"\\"sku\\" : \\"fake\\"","sku":"real"}]',
    '[{"sku":"sku":"x"}]',
    '[{"sku":"a"sku":"b"}]',
    '"sku":"a"sku":"b"',
    '"sku":"sku" : "x"',
    '"sku"sku":"x"',
    '"sku":"',
    '"sku":"unclosed',
    '"sku":"a","sku":"',
    '"sku":""sku":"b"',
    '{"sku":"é ü 日本"}',
    '{"sku":"\u3000"}\u3000"sku"\u3000:\u3000"ideographic"',
    '{"sku":"line\nbreak"}',
    '{"SKU":"upper","sku":"lower"}',
    '{"sku":"one"} "sku"',
    'not json at all "sku":"but a sku"',
]

#: Pieces, and how often each is drawn: backslashes rarely (any sends a text to the regular
#: expression), so that many texts take the split.
PIECES = {'"sku"': 3, '"sku":"': 6, ":": 2, '"': 6, "\\": 1, '\\"': 1, "\\\\": 1, " ": 2}
PIECES |= {"\t": 1, "\n": 1, "sku": 2, "a": 4, "Z-9": 2, "{": 1, "}": 1, ",": 1, "[": 1, "]": 1}
PIECES |= {'"name":"': 1, "\u3000": 1, "é": 1, '"sku" :': 1, ': "': 1}


def _random_lines(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    pieces, weights = list(PIECES), list(PIECES.values())
    return ["".join(rng.choices(pieces, weights, k=rng.randint(1, 12))) for _ in range(count)]


def _migration(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, VERSIONS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def pg(pg_database: str) -> Iterator[Connection]:
    """The session's migrated database, with migration 0017's function as `pg_temp.doc_0017`."""
    engine = make_engine(pg_database)
    with engine.connect() as conn:
        statements = _migration("0017_order_search")._POSTGRES_UP
        (function,) = [s for s in statements if "CREATE FUNCTION" in s]
        conn.exec_driver_sql(function.replace(" orders_search_doc(", " pg_temp.doc_0017(", 1))
        yield conn
    engine.dispose()


def _differing(conn: Connection, lines: list[str]) -> list[tuple[str, str, str]]:
    """The lines whose documents differ: (lines, 0017's document, the database's)."""
    rows = conn.exec_driver_sql(
        f"SELECT lines, pg_temp.doc_0017({COLUMNS}), orders_search_doc({COLUMNS}) FROM ("
        " SELECT 7::bigint AS id, 'E-1' AS external_id, 'Jan' AS customer, NULL AS email,"
        " NULL AS vendor_ref, 'T 1' AS tracking_number, lines FROM unnest(%(lines)s::text[])"
        " AS lines) AS given",
        {"lines": lines},
    ).all()
    assert len(rows) == len(lines)
    return [(lines, old, new) for lines, old, new in rows if old != new]


def test_the_document_is_migration_0017s_on_hostile_lines(pg: Connection) -> None:
    assert _differing(pg, HOSTILE) == []


def test_the_document_is_migration_0017s_on_random_lines(pg: Connection) -> None:
    assert _differing(pg, _random_lines(20_000, seed=25)) == []


def test_the_document_is_migration_0017s_on_the_hubs_lines(pg: Connection) -> None:
    lines = [order_row(order)["lines"] for order in generate_orders(300, 25)]
    assert _differing(pg, lines) == []
    # ... and those take the split, not the regular expression (the speed of a bulk load).
    split = _migration("0025_search_doc_without_regex")._SPLIT_SKUS
    found = pg.exec_driver_sql(
        f"SELECT count({split}) FROM unnest(%(lines)s::text[]) AS lines", {"lines": lines}
    ).scalar_one()
    assert found == len(lines)
