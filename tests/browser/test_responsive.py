"""Every page is readable on a 390 px phone: nothing makes the page scroll sideways (a table
scrolls inside its own `.table-wrap`), and a screenshot of each page at both widths is kept."""

from __future__ import annotations

from typing import Any

import pytest

from web_pages import Case, all_cases, visit

CASES = all_cases()
PHONE = 390

#: The widest element that sticks out of the viewport, outside any `.table-wrap`.
_OVERFLOW = """(limit) => {
  const wide = [];
  for (const node of document.body.querySelectorAll('*')) {
    if (node.closest('.table-wrap')) continue;
    const box = node.getBoundingClientRect();
    if (box.right > limit + 1) {
      const classes = typeof node.className === 'string' ? node.className.trim() : '';
      wide.push(node.tagName.toLowerCase() + (node.id ? '#' + node.id : '')
        + (classes ? '.' + classes.split(/\\s+/).join('.') : '')
        + ' right=' + Math.round(box.right));
    }
  }
  return {scroll: document.documentElement.scrollWidth, wide: wide.slice(0, 10)};
}"""


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_page_fits_a_phone(
    case: Case, hub: Any, signed_in: Any, signed_out: Any, shot: Any
) -> None:
    opener = signed_in if case.signed_in else signed_out
    wide = visit(case, hub, opener, 1280)
    shot(wide.page, "1280px")
    seen = visit(case, hub, opener, PHONE)
    shot(seen.page, f"{PHONE}px")
    found = seen.page.evaluate(_OVERFLOW, PHONE)
    assert found["scroll"] <= PHONE + 1, (
        f"{seen.url} scrolls sideways at {PHONE} px (scrollWidth {found['scroll']}): "
        + "; ".join(found["wide"])
    )


def test_a_wide_element_is_caught(hub: Any, signed_in: Any) -> None:
    """The check can fail: a wide block outside `.table-wrap` overflows, inside it does not."""
    page = signed_in("admin", width=PHONE)
    page.goto(hub.url("/"))
    page.evaluate(
        "() => document.querySelector('main').insertAdjacentHTML('beforeend',"
        ' \'<div class="table-wrap"><table><tr>'
        '<td style="min-width:900px">x</td></tr></table></div>\')'
    )
    assert page.evaluate(_OVERFLOW, PHONE)["scroll"] <= PHONE + 1
    page.evaluate(
        "() => document.querySelector('main').insertAdjacentHTML('beforeend',"
        ' \'<div id="too-wide" style="width:900px">x</div>\')'
    )
    assert page.evaluate(_OVERFLOW, PHONE)["scroll"] > PHONE + 1
