"""Staff accounts beyond the session: sign-in throttling (and its log line), the admin's
/admin/users page, and the web session admitted on GET /v1 (issue 14 point 1)."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from orderhub.api.logs import ACCESS_LOGGER
from orderhub.domain.clock import ManualClock
from orderhub.services import users
from orderhub.services.generate import write_orders
from orderhub.web.app import create_app
from orderhub.web.session import COOKIE
from web_support import PASSWORD, sign_in, user_of

START = datetime.now(UTC).replace(microsecond=0)
FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def client(engine: Engine, clock: ManualClock, address: str = "203.0.113.7") -> TestClient:
    return TestClient(create_app(engine, clock), follow_redirects=False, client=(address, 50000))


def attempt(http: TestClient, email: str, password: str) -> int:
    token = FORM_TOKEN.search(http.get("/login").text)
    assert token is not None
    data = {"email": email, "password": password, "csrf_token": token.group(1)}
    return http.post("/login", data=data).status_code


def test_five_wrong_passwords_for_one_account_throttle_it_and_are_logged(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    user_of(engine, "staff", "ana@example.com")
    clock = ManualClock(START)
    statuses = []
    for n in range(5):  # each from another address: the account is what counts
        http = client(engine, clock, f"198.51.100.{n + 1}")
        statuses.append(attempt(http, "ana@example.com", f"wrong guess {n}"))
        clock.advance(timedelta(minutes=1))
    assert statuses == [401] * 5
    later = client(engine, clock, "192.0.2.99")
    with caplog.at_level(logging.WARNING, "orderhub.services.users"):
        assert attempt(later, "ana@example.com", PASSWORD) == 429  # even the right password
    [line] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "'ana@example.com'" in line and "192.0.2.99" in line and PASSWORD not in line
    answer = later.post(
        "/login",
        data={"email": "ana@example.com", "password": PASSWORD,
              "csrf_token": FORM_TOKEN.search(later.get("/login").text).group(1)},  # type: ignore[union-attr]
    )  # fmt: skip
    assert "too many wrong passwords" in answer.text and int(answer.headers["retry-after"]) > 0
    # 15 minutes after the first of the five failures, the account may try again.
    clock.advance(timedelta(minutes=10, seconds=1))
    assert attempt(later, "ana@example.com", PASSWORD) == 303


def test_five_wrong_passwords_from_one_address_throttle_it(engine: Engine) -> None:
    user_of(engine, "staff", "bo@example.com")
    clock = ManualClock(START)
    http = client(engine, clock, "203.0.113.50")
    for n in range(5):
        assert attempt(http, f"guess{n}@example.com", "whatever it is") == 401
    assert attempt(http, "bo@example.com", PASSWORD) == 429
    elsewhere = client(engine, clock, "203.0.113.51")
    assert attempt(elsewhere, "bo@example.com", PASSWORD) == 303
    clock.advance(users.FAILURE_WINDOW)
    assert attempt(client(engine, clock, "203.0.113.50"), "bo@example.com", PASSWORD) == 303


def test_four_wrong_passwords_then_the_right_one_signs_in_and_clears_them(engine: Engine) -> None:
    user_of(engine, "viewer", "cy@example.com")
    clock = ManualClock(START)
    http = client(engine, clock)
    for _ in range(4):
        assert attempt(http, "cy@example.com", "not it at all") == 401
    assert attempt(http, "cy@example.com", PASSWORD) == 303
    other = client(engine, clock, "203.0.113.8")
    for _ in range(4):
        assert attempt(other, "cy@example.com", "not it at all") == 401
    assert attempt(other, "cy@example.com", PASSWORD) == 303


def test_the_admin_creates_disables_resets_and_changes_a_role(engine: Engine) -> None:
    clock = ManualClock(START)
    http = client(engine, clock)
    me = sign_in(http, engine, "admin")
    form = {"email": "Dee@Example.com", "role": "viewer", "password": "a long enough password"}
    created = http.post("/admin/users", data=form | {"csrf_token": me.csrf})
    assert created.status_code == 303
    shown = http.get(created.headers["location"]).text
    assert "Created dee@example.com." in shown and "<td>dee@example.com</td>" in shown

    dee = client(engine, clock, "203.0.113.9")
    assert attempt(dee, "dee@example.com", "a long enough password") == 303
    token = {"csrf_token": me.csrf, "email": "dee@example.com"}
    assert http.post("/admin/users/role", data=token | {"role": "staff"}).status_code == 303
    assert users.get_user(engine, "dee@example.com").role == "staff"
    reset = http.post("/admin/users/password", data=token | {"password": "another long one!"})
    assert reset.status_code == 303
    assert dee.get("/").status_code == 303  # the reset ended her session
    assert attempt(dee, "dee@example.com", "another long one!") == 303
    assert http.post("/admin/users/disable", data=token).status_code == 303
    assert users.get_user(engine, "dee@example.com").disabled
    assert dee.get("/").status_code == 303
    assert http.post("/admin/users/enable", data=token).status_code == 303
    assert not users.get_user(engine, "dee@example.com").disabled


@pytest.mark.parametrize(
    ("path", "fields", "says"),
    [
        ("/admin/users", {"email": "e@example.com", "role": "staff", "password": "short"},
         "at least 12 characters"),
        ("/admin/users", {"email": "not-an-email", "role": "staff", "password": "x" * 12},
         "an e-mail address"),
        ("/admin/users", {"email": "e@example.com", "role": "owner", "password": "x" * 12},
         "admin or staff or viewer"),
        ("/admin/users", {"email": "admin@example.com", "role": "staff", "password": "x" * 12},
         "exists"),
        ("/admin/users/password", {"email": "admin@example.com", "password": "short"},
         "at least 12 characters"),
        ("/admin/users/disable", {"email": "admin@example.com"}, "your own account"),
        ("/admin/users/role", {"email": "admin@example.com", "role": "staff"}, "from yourself"),
    ],
)  # fmt: skip
def test_bad_input_shows_the_page_again_with_the_error_and_changes_nothing(
    engine: Engine, path: str, fields: dict[str, str], says: str
) -> None:
    http = client(engine, ManualClock(START))
    me = sign_in(http, engine, "admin")
    before = users.list_users(engine)
    answer = http.post(path, data=fields | {"csrf_token": me.csrf})
    assert answer.status_code == 400 and says in answer.text
    assert 'role="alert"' in answer.text
    if path != "/admin/users/disable":  # beside the field (there is no disable button for me)
        assert re.search(
            r'<span class="error" id="error-[^"]+">[^<]*' + re.escape(says), answer.text
        )
    assert users.list_users(engine) == before


def test_an_unknown_user_is_the_404_page(engine: Engine) -> None:
    http = client(engine, ManualClock(START))
    me = sign_in(http, engine, "admin")
    answer = http.post(
        "/admin/users/disable", data={"email": "x@example.com", "csrf_token": me.csrf}
    )
    assert answer.status_code == 404


def test_a_session_cookie_reads_the_api_but_never_writes(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    write_orders(engine, 3, seed=14)
    http = client(engine, ManualClock(START))
    sign_in(http, engine, "staff")
    with caplog.at_level(logging.INFO, ACCESS_LOGGER):
        listed = http.get("/v1/orders")
    assert listed.status_code == 200 and len(listed.json()["data"]) == 3
    [line] = [r for r in caplog.records if r.name == ACCESS_LOGGER]
    assert line.key_name == "user:staff@example.com"  # type: ignore[attr-defined]
    assert "RateLimit" not in listed.headers
    wrote = http.post("/v1/views", json={"name": "mine", "query": "status=open"})
    assert wrote.status_code == 401
    assert http.get("/v1/views/mine").status_code == 404  # nothing was saved
    assert http.get("/v1/webhooks").status_code == 403  # admin only: staff may not


def test_a_viewers_cookie_cannot_read_an_admin_route_and_a_bad_cookie_is_401(
    engine: Engine,
) -> None:
    http = client(engine, ManualClock(START))
    sign_in(http, engine, "viewer")
    assert http.get("/v1/orders").status_code == 200
    assert http.get("/v1/webhooks").status_code == 403
    admin = client(engine, ManualClock(START))
    sign_in(admin, engine, "admin", "root@example.com")
    assert admin.get("/v1/webhooks").status_code == 200
    forged = client(engine, ManualClock(START))
    forged.cookies.set(COOKIE, http.cookies[COOKIE][:-2] + "xx")
    assert forged.get("/v1/orders").status_code == 401
