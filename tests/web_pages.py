"""Every page of the web UI, found from the app's routes rather than listed by hand, so a page
added to any router of `orderhub.web` is checked (axe, assets, overflow) as soon as it exists.

A page is a GET route whose endpoint lives in `orderhub.web`; its path parameters are filled
from the hub's seed (`Seed`) by what the path is about. A parameter nothing can fill makes that
page's tests skip, saying which.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from fastapi.routing import APIRoute

_PARAM = re.compile(r"{(\w+)(?::\w+)?}")


@dataclass(frozen=True)
class Seed:
    """Ids of the seeded objects that fill path parameters (None: not seeded)."""

    orders: tuple[int, ...] = ()
    job: int | None = None
    webhook: int | None = None
    view: str | None = None
    key: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


#: (path prefix, parameter kind) in order: the first prefix a template starts with decides.
_KINDS: tuple[tuple[str, str], ...] = (
    ("/orders/bulk/", "job"),
    ("/orders/", "order"),
    ("/admin/webhooks/", "webhook"),
    ("/admin/keys/", "key"),
    ("/views/", "view"),
)

#: Pages that need a query string to show anything: the query added to the bare path.
QUERIES = {"/orders/pick-list": "id={order}&id={order2}"}

#: Pages worth checking beyond their bare path (when the path is a route).
VARIANTS = {
    "/orders": ("/orders?status=open&_sort=created_at:desc", "/orders?q=a"),
}

#: Error pages in words, checked like any other page (status other than 200).
ERROR_PAGES = ("/no/such/page", "/orders/999999999", "/orders/abc")


def page_templates(app: Any) -> list[str]:
    """The path templates of every GET page of the web UI, in route order (no duplicates)."""
    found: list[str] = []
    for route, path in _routes(app.routes, ""):
        if "GET" not in route.methods or path in found:
            continue
        if getattr(route.endpoint, "__module__", "").startswith("orderhub.web."):
            found.append(path)
    return found


def _routes(routes: Any, prefix: str) -> Iterator[tuple[APIRoute, str]]:
    """Every APIRoute with its full path. FastAPI >= 0.160 keeps an included router whole
    (`original_router`, its prefix in `include_context`) instead of copying its routes."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route, prefix + route.path
        included = getattr(route, "original_router", None)
        if included is not None:
            context = getattr(route, "include_context", None)
            yield from _routes(included.routes, prefix + getattr(context, "prefix", ""))


def page_cases(app: Any) -> list[str]:
    """Templates plus their variants and the error pages: what the tests parametrise over."""
    templates = page_templates(app)
    cases = list(templates)
    for path, extra in VARIANTS.items():
        if path in templates:
            cases += extra
    return cases + [p for p in ERROR_PAGES if p not in cases]


def fill(template: str, seed: Seed) -> str:
    """The URL of a template with its parameters filled; ValueError says what cannot be."""
    orders = seed.orders or (0,)
    values = {
        "order": seed.orders[0] if seed.orders else None,
        "job": seed.job,
        "webhook": seed.webhook,
        "key": seed.key,
        "view": seed.view,
    }

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in seed.extra:
            return str(seed.extra[name])
        kind = next((k for prefix, k in _KINDS if template.startswith(prefix)), None)
        if kind is None or values.get(kind) is None:
            raise ValueError(f"nothing seeded fills {{{name}}} of {template}")
        return str(values[kind])

    url = _PARAM.sub(value, template)
    query = QUERIES.get(template)
    if query is not None:
        url += "?" + query.format(order=orders[0], order2=orders[-1])
    return url


def expected_statuses(case: str) -> tuple[int, ...]:
    """200 for a page; 404 for a missing page or order, 400 or 404 for a malformed id."""
    if case == "/orders/abc":
        return (400, 404)
    return (404,) if case in ERROR_PAGES else (200,)


#: Pages also checked signed out (the path, shown to someone with no session).
SIGNED_OUT = ("/login",)


@dataclass(frozen=True)
class Case:
    """One page to check: its path (template, variant or error page), whether a signed-in
    admin or nobody looks at it, and whether its route exists yet (a signed-out page may not)."""

    path: str
    signed_in: bool = True
    routed: bool = True

    @property
    def id(self) -> str:
        return self.path if self.signed_in else f"signed-out:{self.path}"


def all_cases() -> list[Case]:
    """Every page of the web app as it is built now (an app over an empty in-memory SQLite)."""
    from orderhub.store import make_engine
    from orderhub.web.app import create_app

    app = create_app(make_engine("sqlite://"))
    templates = page_templates(app)
    signed_out = [Case(p, signed_in=False, routed=p in templates) for p in SIGNED_OUT]
    return [Case(path) for path in page_cases(app)] + signed_out


@dataclass
class Visit:
    """A page opened in Chromium: the page, the URL asked for and the main answer's status."""

    page: Any
    url: str
    status: int


def visit(case: Case, hub: Any, open_page: Any, width: int = 1280) -> Visit:
    """Open `case` at `width`; skips what cannot be filled, has no route yet or is no page."""
    import pytest

    if not case.routed:
        pytest.skip(f"{case.path} is not a route of the web app yet")
    try:
        url = fill(case.path, hub.seed)
    except ValueError as exc:
        pytest.skip(str(exc))
    page = open_page(width=width)
    probe = page.request.get(hub.url(url))
    kind = probe.headers.get("content-type", "")
    if not kind.startswith("text/html"):
        pytest.skip(f"{url} is not an HTML page ({kind})")
    if not probe.text().lstrip()[:15].lower().startswith("<!doctype html"):
        pytest.skip(f"{url} is a fragment of a page (htmx), not a page")
    answer = page.goto(hub.url(url))
    assert answer is not None
    assert answer.status in expected_statuses(case.path), f"{url}: {answer.status}"
    return Visit(page, url, answer.status)
