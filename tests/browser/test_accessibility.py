"""axe-core (WCAG 2 A/AA rules) on every page of the web UI, at a laptop's and a phone's width:
no serious or critical violation. The pages come from the app's routes (tests/browser/pages.py),
so a page added later is checked without touching this file."""

from __future__ import annotations

from typing import Any

import pytest

from web_pages import Case, all_cases, visit

CASES = all_cases()
WIDTHS = (1280, 390)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_page_has_no_serious_accessibility_violation(
    case: Case,
    width: int,
    hub: Any,
    signed_in: Any,
    signed_out: Any,
    check_axe: Any,
    shot: Any,
) -> None:
    seen = visit(case, hub, signed_in if case.signed_in else signed_out, width)
    shot(seen.page, f"{width}px")
    check_axe(seen.page, f"{seen.url} at {width} px")


def test_axe_finds_a_violation_when_there_is_one(hub: Any, signed_in: Any, axe_script: Any) -> None:
    """The check can fail: an image without text and an unlabelled field are caught."""
    from web_axe import axe_violations

    page = signed_in("admin")
    page.goto(hub.url("/"))
    page.evaluate(
        """() => {
          const main = document.querySelector('main');
          main.insertAdjacentHTML('beforeend',
            '<img src="/static/none.png"><input type="text"><a href="/"></a>');
        }"""
    )
    found = {v["id"] for v in axe_violations(page, axe_script)}
    assert {"image-alt", "label", "link-name"} <= found


_WIDE_TABLE = """() => {
  document.querySelector('main').insertAdjacentHTML('beforeend',
    '<h2>Lines</h2><div class="table-wrap" id="wide"><table><tr><th>SKU</th>'
    + '<td style="min-width:900px">x</td></tr></table></div>');
  window.dispatchEvent(new Event('resize'));
  const wrap = document.getElementById('wide');
  return {tabindex: wrap.getAttribute('tabindex'), label: wrap.getAttribute('aria-label')};
}"""


def test_a_table_wider_than_a_phone_scrolls_by_keyboard(
    hub: Any, signed_in: Any, axe_script: Any
) -> None:
    """app.js makes a scrolling .table-wrap a named Tab stop; without it axe objects."""
    from web_axe import axe_violations

    page = signed_in("admin", width=390)
    page.goto(hub.url("/"))
    marked = page.evaluate(_WIDE_TABLE)
    assert marked == {"tabindex": "0", "label": "Lines"}
    assert not [v["id"] for v in axe_violations(page, axe_script)]
    page.evaluate("() => document.getElementById('wide').removeAttribute('tabindex')")
    found = {v["id"] for v in axe_violations(page, axe_script)}
    assert "scrollable-region-focusable" in found
