"""Browser tests: a real Chromium (Debian's /usr/bin/chromium) driven by Playwright against the
hub served on loopback, over a SQLite database of generated orders from every channel.

Fixtures: `hub` (the served hub: `base_url`, `engine`), `browser` (one Chromium per test
process), `signed_in` (a factory: a new page signed in as a role), `shot` (saves a screenshot
under test-artifacts/).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from helpers import serve_in_thread
from orderhub.services.generate import write_orders
from orderhub.store import make_engine, upgrade
from web_support import browser_cookie

CHROMIUM = os.environ.get("ORDERHUB_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SEEDED_ORDERS = 300

pytest.importorskip("playwright.sync_api")
if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
    if os.environ.get("ORDERHUB_REQUIRE_BROWSER"):
        raise RuntimeError(f"no Chromium at {CHROMIUM}: apt-get install chromium")
    pytest.skip(f"no Chromium at {CHROMIUM}", allow_module_level=True)


@dataclass(frozen=True)
class Hub:
    base_url: str
    engine: Engine

    def url(self, path: str) -> str:
        return self.base_url + path


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """The hub (API and web UI) on a free loopback port, with generated orders of every channel."""
    from orderhub.web.app import create_app

    path = tmp_path_factory.mktemp("hub") / "orderhub.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    write_orders(engine, SEEDED_ORDERS, seed=14)
    with serve_in_thread(create_app(engine)) as base_url:
        yield Hub(base_url, engine)
    engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def signed_in(hub: Hub, browser: Any) -> Iterator[Callable[..., Any]]:
    """`signed_in(role="admin", width=1280)`: a new page in its own context, signed in."""
    contexts: list[Any] = []

    def open_page(role: str = "admin", width: int = 1280, height: int = 900) -> Any:
        context = browser.new_context(
            viewport={"width": width, "height": height}, accept_downloads=True
        )
        contexts.append(context)
        context.add_cookies([browser_cookie(hub.base_url, hub.engine, role)])
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


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
