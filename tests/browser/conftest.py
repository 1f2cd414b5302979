"""Browser tests: a real Chromium (Debian's /usr/bin/chromium) driven by Playwright against the
hub served on loopback, over a SQLite database of generated orders from every channel.

Fixtures: `hub` (the served hub: `base_url`, `engine`, `seed`: ids of seeded objects), `browser`
(one Chromium per test process), `signed_in` (a factory: a new page signed in as a role),
`signed_out` (a factory: a new page with no session), `shot` (saves a screenshot under
test-artifacts/), `axe_script` (axe-core's axe.min.js from the npm registry, cached in
.cache/npm/), `check_axe` (runs axe on a page and fails on serious/critical violations).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from helpers import serve_in_thread
from orderhub.services.generate import write_orders
from orderhub.store import make_engine, upgrade
from web_axe import axe_violations, describe_violations, fetch_axe
from web_pages import Seed
from web_support import browser_cookie

CHROMIUM = os.environ.get("ORDERHUB_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
SEEDED_ORDERS = 300
REQUIRED = bool(os.environ.get("ORDERHUB_REQUIRE_BROWSER"))

pytest.importorskip("playwright.sync_api")
if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
    if REQUIRED:
        raise RuntimeError(f"no Chromium at {CHROMIUM}: apt-get install chromium")
    pytest.skip(f"no Chromium at {CHROMIUM}", allow_module_level=True)


@dataclass(frozen=True)
class Hub:
    base_url: str
    engine: Engine
    seed: Seed

    def url(self, path: str) -> str:
        return self.base_url + path


def seed_hub(engine: Engine) -> Seed:
    """Orders of every channel account, plus one of each object a page may show by id or in a
    table: a finished bulk job (some orders changed and e-mailed, some refused), a webhook
    subscription, a saved view, an API key and a quarantined record."""
    from orderhub.domain.clock import SYSTEM_CLOCK
    from orderhub.services import jobs, keys, views, webhooks
    from orderhub.store import SyncRepository

    write_orders(engine, SEEDED_ORDERS, seed=14)
    with engine.connect() as conn:
        order_ids = tuple(
            conn.execute(text("SELECT id FROM orders ORDER BY id LIMIT 12")).scalars()
        )
    bulk = {"ids": list(order_ids), "action": "status", "value": "shipping", "notify_user": True}
    job = jobs.submit(engine, jobs.parse_bulk(bulk), "seed")
    while jobs.run_batch(engine, job.id).status in ("queued", "running"):
        pass
    webhook = webhooks.create_subscription(
        engine, "https://hooks.example.com/orderhub", ["order.created"], allow_private=True
    )
    views.create_view(engine, "open-orders", "status=open")
    keys.create_key(engine, "seeded-reader", ("orders:read",))
    with engine.begin() as conn:
        record = ("Q-1", "no customer e-mail: cannot read the order", {"id": "Q-1", "lines": []})
        SyncRepository(conn).quarantine("mall-cz", 0, [record], SYSTEM_CLOCK.now())
    return Seed(
        orders=order_ids[:3],
        job=job.id,
        webhook=webhook.id,
        view="open-orders",
        key="seeded-reader",
    )


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """The hub (API and web UI) on a free loopback port, with generated orders of every channel
    and the objects of `seed_hub`."""
    from orderhub.web.app import create_app

    path = tmp_path_factory.mktemp("hub") / "orderhub.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    seed = seed_hub(engine)
    with serve_in_thread(create_app(engine)) as base_url:
        yield Hub(base_url, engine, seed)
    engine.dispose()


# Per module, not per session: while Playwright's sync API runs it holds an event loop on the
# main thread, and a later test file of the same process calling asyncio.run() would fail.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


class _Pages:
    """New pages, each in its own browser context (its own cookies), closed at the end."""

    def __init__(self, browser: Any, hub: Hub) -> None:
        self.browser, self.hub, self.contexts = browser, hub, list[Any]()

    def open(self, role: str | None, width: int = 1280, height: int = 900) -> Any:
        context = self.browser.new_context(
            viewport={"width": width, "height": height}, accept_downloads=True
        )
        self.contexts.append(context)
        if role is not None:
            context.add_cookies([browser_cookie(self.hub.base_url, self.hub.engine, role)])
        return context.new_page()

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def signed_in(hub: Hub, browser: Any) -> Iterator[Callable[..., Any]]:
    """`signed_in(role="admin", width=1280)`: a new page in its own context, signed in."""
    pages = _Pages(browser, hub)
    yield lambda role="admin", width=1280, height=900: pages.open(role, width, height)
    pages.close()


@pytest.fixture
def signed_out(hub: Hub, browser: Any) -> Iterator[Callable[..., Any]]:
    """`signed_out(width=1280)`: a new page in its own context, with no session."""
    pages = _Pages(browser, hub)
    yield lambda width=1280, height=900: pages.open(None, width, height)
    pages.close()


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Any, str], Path]:
    """`shot(page, "step")` saves test-artifacts/<test>-<step>.png and returns its path."""

    def save(page: Any, step: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{request.node.name}-{step}")
        target = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(target), full_page=True)
        return target

    return save


@pytest.fixture(scope="session")
def axe_script() -> Path:
    """axe.min.js, fetched once from npm and cached; skipped (failed under
    ORDERHUB_REQUIRE_BROWSER) when npm or its registry is unreachable."""
    try:
        return fetch_axe()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        if REQUIRED:
            raise
        pytest.skip(f"axe-core is not available: {exc}")


@pytest.fixture
def check_axe(axe_script: Path) -> Callable[[Any, str], None]:
    """`check_axe(page, where)`: fails listing every serious or critical violation."""

    def check(page: Any, where: str) -> None:
        found = axe_violations(page, axe_script)
        assert not found, f"axe on {where}:\n{describe_violations(found)}"

    return check
