"""The packing slip and the pick list (TestClient, SQLite and PostgreSQL), over the hand-written
orders of tests/test_web_order_page.py: what is left to pick of each line, the sums per SKU, the
barcode's bars against the Code 128 table, and bad or missing ids in words."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from orderhub.web.barcode import code128_modules
from test_web_order_page import http, ids, rows, text
from web_support import sign_in

__all__ = ["http"]  # the fixture, shared with the order page's tests

#: How the pick list writes "2 of order 7": 7, U+00D7 (the multiplication sign), 2.
X = "\u00d7"


def test_the_packing_slip(http: TestClient, engine: Engine) -> None:
    sign_in(http, engine, "viewer")
    first = ids(http)[0]
    page = http.get(f"/orders/{first}/packing-slip")
    assert page.status_code == 200
    assert "<nav" not in page.text and 'href="/static/print.css"' in page.text
    # MUG: 3 ordered, 1 delivered; TEE: 2 ordered, 1 cancelled; no postage line to pick
    assert rows(page.text, "data-sku") == {
        "MUG": ["MUG", "Mug item", "3", "2", ""],
        "TEE": ["TEE", "Tee item", "2", "1", ""],
    }
    words = text(page.text)
    for expected in (f"Packing slip · order {first}", "mall-cz order M-1", "Jana Nováková",
                     "Dlouhá 12", "11000 Praha", "CZ"):  # fmt: skip
        assert expected in words
    svg = re.search(r'<svg class="barcode".*?</svg>', page.text, re.S)
    assert svg is not None and f'aria-label="Barcode (Code 128) of {first}"' in svg.group(0)
    assert _bars(svg.group(0)) == code128_modules(str(first)).strip("0")


def _bars(svg: str) -> str:
    """The modules an SVG's bars draw: dark where a bar is, light between."""
    bars = [(int(x), int(w)) for x, w in re.findall(r'<rect x="(\d+)" y="0" width="(\d+)"', svg)]
    start = bars[0][0]
    modules = ["0"] * (bars[-1][0] + bars[-1][1] - start)
    for x, width in bars:
        modules[x - start : x - start + width] = ["1"] * width
    return "".join(modules)


def test_code_128_of_a_known_value() -> None:
    # The standard's table, as bar/space widths: Start C (105) 211232, the pair "12" 112232, the
    # check symbol (105 + 1 * 12) mod 103 = 14 122231, stop 2331112.
    assert code128_modules("12") == "1101001110010110011100100110011101100011101011"


def test_the_pick_list(http: TestClient, engine: Engine) -> None:
    sign_in(http, engine, "viewer")
    first, second, third = ids(http)
    page = http.get(f"/orders/pick-list?id={first}&id={second}&id={third}")
    assert page.status_code == 200
    summary = page.text.split('class="slip"')[0]
    assert rows(summary, "data-sku") == {
        "MUG": ["MUG", "Mug item", "6", f"{first} {X} 2, {second} {X} 2, {third} {X} 2", ""],
        "TEE": ["TEE", "Tee item", "1", f"{first} {X} 1", ""],
    }
    assert page.text.count('<svg class="barcode"') == 3
    assert [int(n) for n in re.findall(r"Packing slip · order (\d+)", text(page.text))] == [
        first, second, third]  # fmt: skip
    for query, status, words in (
        ("", 400, "the orders to pick, e.g. /orders/pick-list?id=1&id=2"),
        ("?id=1x", 400, "order numbers (whole numbers), got '1x'"),
        (f"?id={first}&id=424242", 404, "No order 424242: check the numbers"),
    ):
        answer = http.get(f"/orders/pick-list{query}")
        assert answer.status_code == status, query
        assert words in text(answer.text)
