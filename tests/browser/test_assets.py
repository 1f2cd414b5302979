"""No page needs the internet: every request a page makes in Chromium (scripts, styles, images,
fonts, htmx) goes to the hub; no src/href/action/url() in its HTML or stylesheets names another
host; every asset it loads answers 200."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

from web_pages import Case, all_cases, visit

CASES = all_cases()
_URL_ATTRIBUTES = {"src", "href", "action", "formaction", "poster", "data", "srcset", "xlink:href"}
_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)""")
#: Schemes that make no request from the page.
_NO_REQUEST = ("#", "mailto:", "tel:", "data:", "blob:", "about:")


class _Links(HTMLParser):
    """Every URL-valued attribute, inline style url() and asset (script, stylesheet, image)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: list[tuple[str, str]] = []  # (where, value)
        self.assets: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = {k: v or "" for k, v in attrs}
        for name, value in named.items():
            if name in _URL_ATTRIBUTES and value:
                values = [v.split()[0] for v in value.split(",")] if name == "srcset" else [value]
                self.values += [(f"<{tag} {name}>", v.strip()) for v in values if v.strip()]
            if name == "style":
                self.values += [(f"<{tag} style>", v) for v in _CSS_URL.findall(value)]
        if tag == "script" and named.get("src"):
            self.assets.append(named["src"])
        if tag == "link" and named.get("href"):
            self.assets.append(named["href"])
        if tag in ("img", "source") and named.get("src"):
            self.assets.append(named["src"])
        self._in_style = tag == "style"

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.values += [("<style>", v) for v in _CSS_URL.findall(data)]

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False


def foreign(value: str, base: str) -> bool:
    """Whether `value` (as written in a page at `base`) points to another host."""
    if value.startswith(_NO_REQUEST):
        return False
    target = urlsplit(urljoin(base, value))
    if target.scheme not in ("http", "https"):
        return True  # javascript:, ftp: ...: not a link a page should carry
    return target.netloc != urlsplit(base).netloc


def off_hub(html: str, base: str) -> list[str]:
    """The foreign URLs written in `html`, with where each was found."""
    links = _Links()
    links.feed(html)
    return [f"{where} {value}" for where, value in links.values if foreign(value, base)]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_page_needs_nothing_but_the_hub(
    case: Case, hub: Any, signed_in: Any, signed_out: Any, shot: Any
) -> None:
    requests: list[str] = []
    failed: list[str] = []
    opener = signed_in if case.signed_in else signed_out

    def page_opener(width: int = 1280) -> Any:
        page = opener(width=width)
        page.on("request", lambda r: requests.append(r.url))
        page.on("requestfailed", lambda r: failed.append(f"{r.url}: {r.failure}"))
        return page

    seen = visit(case, hub, page_opener)
    seen.page.wait_for_load_state("networkidle")
    shot(seen.page, "loaded")
    elsewhere = [
        u
        for u in requests
        if not u.startswith(hub.base_url + "/") and not u.startswith(_NO_REQUEST)
    ]
    assert not elsewhere, f"{seen.url} asks other hosts: {elsewhere}"
    assert not failed, f"{seen.url}: requests failed: {failed}"

    base = hub.url(seen.url)
    html = seen.page.content()
    assert not off_hub(html, base), f"{seen.url} names other hosts: {off_hub(html, base)}"
    links = _Links()
    links.feed(html)
    for asset in links.assets:
        url = urljoin(base, asset)
        answer = seen.page.request.get(url)
        assert answer.status == 200, f"{seen.url}: asset {asset} answers {answer.status}"
        if url.endswith(".css"):
            css_urls = _CSS_URL.findall(answer.text())
            assert not [u for u in css_urls if foreign(u, url)], f"{asset} names other hosts"
            for ref in css_urls:
                if not ref.startswith(_NO_REQUEST):
                    status = seen.page.request.get(urljoin(url, ref)).status
                    assert status == 200, f"{asset}: {ref} answers {status}"


@pytest.mark.parametrize(
    ("value", "is_foreign"),
    [
        ("#main", False),
        ("/static/app.css", False),
        ("app.css", False),
        ("/v1/orders?status=open", False),
        ("http://127.0.0.1:8000/orders", False),
        ("mailto:someone@example.com", False),
        ("https://cdn.example.com/htmx.js", True),
        ("//cdn.example.com/htmx.js", True),
        ("http://127.0.0.1:9999/x", True),
        ("javascript:alert(1)", True),
    ],
)
def test_a_url_elsewhere_is_caught(value: str, is_foreign: bool) -> None:
    assert foreign(value, "http://127.0.0.1:8000/orders/1") is is_foreign


def test_foreign_urls_are_found_in_every_place_a_page_writes_them() -> None:
    html = """<link rel="stylesheet" href="https://cdn.example.com/a.css">
    <script src="//cdn.example.com/a.js"></script>
    <img srcset="/a.png 1x, https://x.example/b.png 2x">
    <form action="https://forms.example.com/post"></form>
    <div style="background:url('https://i.example/c.png')"></div>
    <style>body { background: url(https://i.example/d.png) }</style><a href="/orders">orders</a>"""
    found = off_hub(html, "http://127.0.0.1:8000/")
    assert len(found) == 6, found
