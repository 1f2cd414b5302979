"""The served web UI answers a real browser: the dashboard for a signed-in user, the sign-in
redirect for anyone else, and a page in words for a bad address."""

from __future__ import annotations

from typing import Any


def test_signed_in_user_sees_the_dashboard(hub: Any, signed_in: Any, shot: Any) -> None:
    page = signed_in("admin")
    page.goto(hub.url("/"))
    assert page.locator("h1").inner_text() == "Dashboard"
    assert shot(page, "dashboard").exists()


def test_bad_address_is_a_page_in_words(hub: Any, signed_in: Any) -> None:
    page = signed_in("viewer")
    answer = page.goto(hub.url("/no/such/page"))
    assert answer.status == 404
    assert "no page at this address" in page.locator("main").inner_text()
