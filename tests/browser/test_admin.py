"""The admin pages in a real Chromium: create an API key (its token shown once, and working),
then revoke it (refused from then on)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx



def test_an_api_key_is_created_shown_once_and_revoked(
    hub: Any, signed_in: Callable[..., Any], shot: Callable[[Any, str], Path]
) -> None:
    page = signed_in("admin")
    page.goto(hub.url("/admin"))
    page.get_by_role("link", name="API keys").click()
    page.wait_for_url(re.compile(r"/admin/keys$"))
    shot(page, "keys")

    page.get_by_label("Name").fill("browser-test")
    page.get_by_label("orders:read").check()
    page.get_by_label("Daily limit").fill("100")
    page.get_by_role("button", name="Create key").click()
    token_field = page.get_by_label("The key")
    token = token_field.input_value()
    assert token.startswith("ohk_")
    assert page.get_by_text("it is shown only this once").is_visible()
    shot(page, "created")
    answer = httpx.get(hub.url("/v1/orders"), headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200

    page.goto(hub.url("/admin/keys"))
    assert token not in page.content()  # never shown again
    row = page.get_by_role("row").filter(has_text="browser-test")
    assert "1 / 100" in row.inner_text()
    row.get_by_role("button", name="Revoke browser-test").click()
    page.wait_for_url(re.compile(r"/admin/keys\?revoked=browser-test"))
    assert page.get_by_role("status").inner_text().startswith("API key browser-test is revoked")
    shot(page, "revoked")
    refused = httpx.get(hub.url("/v1/orders"), headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401
