"""Errors on web pages are pages in words, never a stack trace: a bad address, a missing order,
a malformed id (in Chromium), and an unexpected error inside a page (a test app's route)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from orderhub.web.app import create_app
from orderhub.web.session import WebUser, signed_in
from web_support import sign_in

#: What a stack trace or a framework's raw error looks like in a page.
_TRACES = ("Traceback", 'File "/', "Internal Server Error", '{"detail"')


def in_words(text: str) -> bool:
    """At least a sentence of prose, and nothing of a stack trace."""
    return len(text.split()) >= 6 and not any(trace in text for trace in _TRACES)


@pytest.mark.parametrize(
    ("path", "statuses"),
    [
        ("/no/such/page", (404,)),
        ("/orders/999999999", (404,)),
        ("/orders/abc", (400, 404)),
        ("/admin/webhooks/999999999", (404,)),
    ],
)
def test_an_error_is_a_page_in_words(
    path: str, statuses: tuple[int, ...], hub: Any, signed_in: Any, shot: Any
) -> None:
    page = signed_in("admin")
    answer = page.goto(hub.url(path))
    assert answer is not None and answer.status in statuses
    assert answer.headers["content-type"].startswith("text/html")
    shot(page, "error")
    assert page.locator("h1").count() == 1
    main = page.locator("main").inner_text()
    assert in_words(main), main
    assert page.locator("main a[href='/']").count() >= 1, "no way back to the dashboard"


def _failing_app(engine: Any) -> FastAPI:
    app = create_app(engine)

    @app.get("/test-boom", include_in_schema=False)
    def boom(user: WebUser = signed_in) -> None:
        raise RuntimeError("secret detail /srv/orderhub/app.py line 12")

    @app.get("/test-number/{n}", include_in_schema=False)
    def number(n: int, user: WebUser = signed_in) -> dict[str, int]:
        return {"n": n}

    return app


def test_an_unexpected_error_is_a_page_in_words(hub: Any) -> None:
    with TestClient(_failing_app(hub.engine), raise_server_exceptions=False) as http:
        sign_in(http, hub.engine, "viewer")
        answer = http.get("/test-boom")
    assert answer.status_code == 500
    assert answer.headers["content-type"].startswith("text/html")
    assert "Something went wrong" in answer.text
    assert in_words(answer.text)
    assert "secret detail" not in answer.text and "RuntimeError" not in answer.text


def test_a_malformed_parameter_is_a_page_in_words(hub: Any) -> None:
    with TestClient(_failing_app(hub.engine), raise_server_exceptions=False) as http:
        sign_in(http, hub.engine, "viewer")
        answer = http.get("/test-number/abc")
    assert answer.status_code in (400, 404, 422)
    assert answer.headers["content-type"].startswith("text/html"), answer.text
    assert in_words(answer.text), answer.text


def test_a_trace_is_caught() -> None:
    assert not in_words('Traceback (most recent call last):\n  File "/srv/app.py", line 3')
    assert not in_words("Internal Server Error")
    assert in_words("There is no page at this address. Check the link.")
