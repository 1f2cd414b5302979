"""Signing in and out in a real Chromium: the form, a wrong password, the dashboard, sign-out
(the old cookie no longer works), a viewer kept off the admin pages, and an admin making and
disabling a user on /admin/users."""

from __future__ import annotations

from typing import Any

import httpx

from orderhub.services import users
from web_support import PASSWORD, user_of


def test_sign_in_see_the_dashboard_sign_out(hub: Any, browser: Any, shot: Any) -> None:
    user_of(hub.engine, "staff", "picker@example.com")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(hub.url("/?from=bookmark"))
    assert page.url.startswith(hub.url("/login"))
    assert page.locator("h1").inner_text() == "Sign in"
    shot(page, "1-sign-in-form")

    page.get_by_label("E-mail").fill("picker@example.com")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "wrong e-mail or password"
    shot(page, "2-wrong-password")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(hub.url("/?from=bookmark"))  # back where the browser was going
    assert page.locator(".who").inner_text() == "picker@example.com (staff)"
    shot(page, "3-dashboard")
    (cookie,) = [c for c in context.cookies() if c["name"] == "orderhub_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/"

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(hub.url("/login?signed_out=1"))
    assert "You have signed out." in page.locator("main").inner_text()
    shot(page, "4-signed-out")
    old = httpx.get(hub.url("/"), cookies={cookie["name"]: cookie["value"]})
    assert old.status_code == 303 and old.headers["location"].startswith("/login")
    context.close()


def test_a_viewer_is_kept_off_the_admin_pages(hub: Any, signed_in: Any, shot: Any) -> None:
    page = signed_in("viewer")
    answer = page.goto(hub.url("/admin/users"))
    assert answer.status == 403
    assert page.locator("h1").inner_text() == "Not allowed"
    assert page.get_by_role("link", name="Admin").count() == 0
    shot(page, "viewer-refused")


def test_an_admin_creates_and_disables_a_user(
    hub: Any, signed_in: Any, browser: Any, shot: Any
) -> None:
    page = signed_in("admin")
    page.goto(hub.url("/admin/users"))
    page.get_by_label("E-mail").fill("packer@example.com")
    page.get_by_label("Role", exact=True).select_option("viewer")
    page.get_by_label("Password (at least 12 characters)").fill("packing all day long")
    page.get_by_role("button", name="Create user").click()
    assert "Created packer@example.com." in page.get_by_role("status").inner_text()
    shot(page, "user-created")
    assert users.get_user(hub.engine, "packer@example.com").role == "viewer"

    page.get_by_role("button", name="Disable packer@example.com").click()
    assert "Disabled packer@example.com" in page.get_by_role("status").inner_text()
    assert users.get_user(hub.engine, "packer@example.com").disabled
    shot(page, "user-disabled")
