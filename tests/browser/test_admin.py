"""The admin pages in a real Chromium: create an API key (its token shown once, and working),
then revoke it (refused from then on); a channel's health and its quarantine on a phone."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from orderhub.store import RunCounts, SyncRepository, UnitOfWork


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
    questions: list[str] = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    row.get_by_role("button", name="Revoke browser-test").click()
    page.wait_for_url(re.compile(r"/admin/keys\?revoked=browser-test"))
    assert questions == ["Revoke browser-test? Requests with it are refused from now on."]
    assert page.get_by_role("status").inner_text().startswith("API key browser-test is revoked")
    shot(page, "revoked")
    refused = httpx.get(hub.url("/v1/orders"), headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401


def test_channels_show_health_and_quarantine_on_a_phone(
    hub: Any, signed_in: Callable[..., Any], shot: Callable[[Any, str], Path]
) -> None:
    at = datetime.now(UTC)
    with UnitOfWork(hub.engine) as uow:
        repo = SyncRepository(uow.conn)
        run = repo.start_run("cscart-main", False, at - timedelta(minutes=3))
        counts = RunCounts(orders_new=4, requests=9)
        repo.finish_run(run, "failed", at - timedelta(minutes=2), counts, "HTTP 503 from CS-Cart")
        repo.quarantine("cscart-main", run, [("77", "total: not a number", {"x": "<i>"})], at)
    page = signed_in("admin", width=390)
    page.goto(hub.url("/admin/channels#cscart-main"))
    section = page.locator("section#cscart-main")
    assert "HTTP 503 from CS-Cart" in section.inner_text()
    shot(page, "channels")
    section.get_by_role("link", name="1").click()
    page.wait_for_url(re.compile(r"/admin/quarantine\?account=cscart-main$"))
    assert '"x": "<i>"' in page.locator("pre").inner_text()
    shot(page, "quarantine")
