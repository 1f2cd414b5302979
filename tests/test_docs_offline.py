"""/docs and /redoc load offline: every asset they name is served by the hub itself.

The pages are fetched over real HTTP from a served app; every URL they name (in `src`, `href`,
`spec-url`, and the quoted URLs of their inline scripts) is resolved against the page and must
be on the hub's own host and answer 200 with a body.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from sqlalchemy import Engine

from helpers import serve_in_thread
from orderhub.api.app import create_app

URL_ATTRIBUTES = {"src", "href", "spec-url"}
#: A quoted string in a script that is a URL: absolute, or a path from the root.
SCRIPT_URL = re.compile(r"""['"]((?:https?:)?//[^'"\s]+|/[A-Za-z0-9_.~-][^'"\s]*)['"]""")


class _Urls(HTMLParser):
    """Every URL a page names: element attributes and quoted URLs inside inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in_script = tag == "script"
        self.urls += [value for name, value in attrs if name in URL_ATTRIBUTES and value]

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.urls += SCRIPT_URL.findall(data)


def _named_urls(html: str) -> tuple[list[str], list[str]]:
    parser = _Urls()
    parser.feed(html)
    return parser.urls, parser.tags


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("page", "needed"),
    [
        ("/docs", {"swagger-ui-bundle.js", "swagger-ui.css", "openapi.json"}),
        ("/redoc", {"redoc.standalone.js", "openapi.json"}),
    ],
)
def test_the_docs_name_only_assets_the_hub_serves(
    engine: Engine, page: str, needed: set[str]
) -> None:
    with serve_in_thread(create_app(engine)) as base, httpx.Client(timeout=60) as http:
        answer = http.get(base + page)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/html")
        urls, tags = _named_urls(answer.text)
        assert "script" in tags
        resolved = [urljoin(str(answer.url), url) for url in urls]
        names = {urlsplit(url).path.rpartition("/")[2] for url in resolved}
        assert needed <= names, f"{page} names {sorted(names)}"
        for url in resolved:
            assert urlsplit(url).netloc == urlsplit(base).netloc, f"{page} names off-host {url}"
            asset = http.get(url)
            assert asset.status_code == 200, url
            assert asset.content, url


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_assets_are_the_real_bundles(engine: Engine) -> None:
    """Not placeholders: the JavaScript defines what the pages call, the CSS styles Swagger UI."""
    with (
        serve_in_thread(create_app(engine)) as base,
        httpx.Client(base_url=base, timeout=60) as http,
    ):
        swagger = http.get("/docs/assets/swagger-ui-bundle.js")
        redoc = http.get("/docs/assets/redoc.standalone.js")
        css = http.get("/docs/assets/swagger-ui.css")
    assert "SwaggerUIBundle" in swagger.text and len(swagger.content) > 500_000
    assert "Redoc" in redoc.text and len(redoc.content) > 500_000
    assert ".swagger-ui" in css.text
    assert swagger.headers["content-type"].startswith(("text/javascript", "application/javascript"))


def test_the_parser_finds_an_off_host_asset() -> None:
    """The check above can fail: a CDN page (FastAPI's default) names hosts of its own."""
    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html

    for page in (
        get_swagger_ui_html(openapi_url="/openapi.json", title="t"),
        get_redoc_html(openapi_url="/openapi.json", title="t"),
    ):
        urls, _ = _named_urls(bytes(page.body).decode())
        hosts = {urlsplit(urljoin("http://127.0.0.1:1/docs", u)).netloc for u in urls}
        assert hosts - {"127.0.0.1:1"}, urls
        assert "/openapi.json" in urls
