"""The dashboard and the sign-in page work from the keyboard: Tab reaches every focusable
control, each has an accessible name, and "Skip to content" moves focus to the page's main part."""

from __future__ import annotations

import re
from typing import Any

import pytest

from web_pages import all_cases

#: Marks every visible focusable element with its index (in document order, which is the tab
#: order: no page uses a positive tabindex); returns how many there are. checkVisibility() also
#: leaves out what a closed <details> hides.
_MARK = """() => {
  const selector = 'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]),'
    + ' select:not([disabled]), textarea:not([disabled]), summary, [tabindex]';
  const nodes = [...document.querySelectorAll(selector)].filter(n =>
    n.getAttribute('tabindex') !== '-1' && n.checkVisibility({visibilityProperty: true}));
  nodes.forEach((n, i) => n.setAttribute('data-kbd', String(i)));
  return nodes.length;
}"""
#: A named node in an aria snapshot: `- link "Orders"` (YAML-quoted when the name has a colon),
#: or text content only (a <summary>: `- text: Show as a table`).
_NAME = re.compile(r"""^- '?(?:[\w-]+ "[^"]+"|text: \S)""", re.M)


def _focused(page: Any) -> tuple[str | None, str]:
    """The focused element's data-kbd mark and its role and accessible name (aria snapshot)."""
    mark = page.evaluate("() => document.activeElement?.getAttribute('data-kbd') ?? null")
    if mark is None:
        return None, ""
    return mark, page.locator(f"[data-kbd='{mark}']").aria_snapshot()


def tab_through(page: Any) -> tuple[int, dict[str, str]]:
    """Press Tab until focus comes round again (from where it is: a page may autofocus a
    field), through the end of the page and back to its start: what was reached."""
    total = page.evaluate(_MARK)
    reached: dict[str, str] = {}
    mark, snapshot = _focused(page)
    if mark is not None:
        reached[mark] = snapshot
    for _ in range(2 * total + 4):
        page.keyboard.press("Tab")
        mark, snapshot = _focused(page)
        if mark in reached:
            break
        if mark is not None:
            reached[mark] = snapshot
    return total, reached


def unnamed(reached: dict[str, str]) -> list[str]:
    """The reached elements whose aria snapshot shows no accessible name."""
    return [snap for snap in reached.values() if not _NAME.search(snap)]


def _check(page: Any) -> None:
    total, reached = tab_through(page)
    assert total > 0
    assert len(reached) == total, f"Tab reached {len(reached)} of {total}: {reached}"
    assert not unnamed(reached), f"no accessible name: {unnamed(reached)}"


def _skip_link_works(page: Any) -> None:
    """ "Skip to content" is first in the tab order, shows when Tab reaches it, and Enter on it
    puts the focus on <main>."""
    page.evaluate(_MARK)
    assert page.locator("[data-kbd='0']").inner_text() == "Skip to content"
    for _ in range(page.evaluate(_MARK) + 2):
        if _focused(page)[0] == "0":
            break
        page.keyboard.press("Tab")
    assert _focused(page)[0] == "0", "Tab never reaches the skip link"
    box = page.locator(".skip").bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0, (
        "the skip link does not show when focused"
    )
    page.keyboard.press("Enter")
    assert page.evaluate("() => location.hash") == "#main"
    assert page.evaluate("() => document.activeElement.id") == "main"


def test_dashboard_by_keyboard(hub: Any, signed_in: Any, shot: Any) -> None:
    page = signed_in("admin")
    page.goto(hub.url("/"))
    _skip_link_works(page)
    shot(page, "skipped")
    page.goto(hub.url("/"))
    _check(page)
    shot(page, "tabbed")


def test_login_by_keyboard(hub: Any, signed_out: Any, shot: Any) -> None:
    if not any(c.path == "/login" and not c.signed_in and c.routed for c in all_cases()):
        pytest.skip("/login is not a route of the web app yet")
    page = signed_out()
    page.goto(hub.url("/login"))
    _skip_link_works(page)
    page.goto(hub.url("/login"))
    _check(page)
    shot(page, "tabbed")


def test_an_unnamed_or_unreachable_control_is_caught(hub: Any, signed_in: Any) -> None:
    """The check can fail: a button with no name, and a div-button Tab never reaches."""
    page = signed_in("admin")
    page.goto(hub.url("/"))
    page.evaluate(
        "() => document.querySelector('main').insertAdjacentHTML('beforeend',"
        " '<button type=\"button\"></button>')"
    )
    _total, reached = tab_through(page)
    assert unnamed(reached)
    page.goto(hub.url("/"))
    page.evaluate(
        "() => document.querySelector('main').insertAdjacentHTML('beforeend',"
        " '<div inert><button type=\"button\">Out of reach</button></div>')"
    )
    total, reached = tab_through(page)
    assert len(reached) < total
