"""Signing in to the web UI (issue 14 point 1): the form, the session cookie, CSRF, roles,
sign-out, disabled users, expiry and throttling, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from orderhub.domain.clock import ManualClock
from orderhub.services import users
from orderhub.store.users import users as users_table
from orderhub.store.users import web_sessions as sessions_table
from orderhub.web.app import create_app
from orderhub.web.session import COOKIE, WebUser, staff
from web_support import PASSWORD, sign_in, user_of

START = datetime.now(UTC).replace(microsecond=0)
FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def client(engine: Engine, clock: ManualClock | None = None, **kwargs: object) -> TestClient:
    app = create_app(engine, clock or ManualClock(START))
    return TestClient(app, follow_redirects=False, **kwargs)  # type: ignore[arg-type]


def post_login(http: TestClient, email: str, password: str, next: str = "/") -> object:
    token = FORM_TOKEN.search(http.get("/login").text)
    assert token is not None
    data = {"email": email, "password": password, "csrf_token": token.group(1), "next": next}
    return http.post("/login", data=data)


def signed_in_as(http: TestClient) -> str | None:
    """The e-mail the dashboard greets, or None when it sends the browser to /login."""
    answer = http.get("/")
    if answer.status_code == 303:
        assert answer.headers["location"].startswith("/login")
        return None
    assert answer.status_code == 200, answer.text
    found = re.search(r'class="who">([^ ]+) \(', answer.text)
    return found.group(1) if found else None


def session_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(sessions_table.c.id)).all())


def test_signing_in_through_the_form_sets_a_guarded_cookie(engine: Engine) -> None:
    user_of(engine, "staff", "ana@example.com")
    http = client(engine)
    assert signed_in_as(http) is None
    answer = post_login(http, "Ana@Example.com ", PASSWORD, next="/orders?status=open")
    assert answer.status_code == 303  # type: ignore[attr-defined]
    assert answer.headers["location"] == "/orders?status=open"  # type: ignore[attr-defined]
    cookie = next(
        h
        for h in answer.headers.get_list("set-cookie")
        if h.startswith(COOKIE + "=")  # type: ignore[attr-defined]
    )
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=lax", "path=/"} <= flags and "secure" not in flags
    assert signed_in_as(http) == "ana@example.com"
    assert session_rows(engine) == 1


def test_the_cookie_is_secure_over_https(engine: Engine) -> None:
    user_of(engine, "viewer")
    http = client(engine, base_url="https://testserver")
    answer = post_login(http, "viewer@example.com", PASSWORD)
    cookie = next(h for h in answer.headers.get_list("set-cookie") if h.startswith(COOKIE))  # type: ignore[attr-defined]
    assert "secure" in cookie.lower()


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil", "x"])
def test_next_leads_only_to_a_local_path(engine: Engine, target: str) -> None:
    user_of(engine, "staff")
    answer = post_login(client(engine), "staff@example.com", PASSWORD, next=target)
    assert answer.headers["location"] == "/"  # type: ignore[attr-defined]


def test_a_wrong_password_or_unknown_email_says_the_same_and_signs_nobody_in(
    engine: Engine,
) -> None:
    user_of(engine, "admin")
    http = client(engine)
    for email, password in (
        ("admin@example.com", "not the password"),
        ("who@example.com", PASSWORD),
    ):
        answer = post_login(http, email, password)
        assert answer.status_code == 401  # type: ignore[attr-defined]
        assert "wrong e-mail or password" in answer.text  # type: ignore[attr-defined]
        assert COOKIE not in http.cookies
    assert session_rows(engine) == 0


def test_the_sign_in_form_needs_its_own_token(engine: Engine) -> None:
    user_of(engine, "admin")
    http = client(engine)
    http.get("/login")
    data = {"email": "admin@example.com", "password": PASSWORD, "csrf_token": "forged"}
    assert http.post("/login", data=data).status_code == 403
    fresh = client(engine)  # no form cookie at all
    data["csrf_token"] = FORM_TOKEN.search(http.get("/login").text).group(1)  # type: ignore[union-attr]
    assert fresh.post("/login", data=data).status_code == 403
    assert session_rows(engine) == 0


def test_signing_out_ends_the_session_and_the_cookie_no_longer_works(engine: Engine) -> None:
    http = client(engine)
    user = sign_in(http, engine, "staff")
    cookie = http.cookies[COOKIE]
    assert http.post("/logout", data={}).status_code == 403  # no token: still signed in
    assert signed_in_as(http) == user.email
    answer = http.post("/logout", data={"csrf_token": user.csrf})
    assert answer.headers["location"] == "/login?signed_out=1"
    assert "You have signed out." in http.get("/login?signed_out=1").text
    replay = client(engine)
    replay.cookies.set(COOKIE, cookie)
    assert signed_in_as(replay) is None
    assert session_rows(engine) == 0


def test_signing_out_of_an_expired_session_leads_to_the_sign_in_page(engine: Engine) -> None:
    clock = ManualClock(START)
    http = client(engine, clock)
    user = sign_in(http, engine, "viewer")
    clock.advance(timedelta(days=8))
    answer = http.post("/logout", data={"csrf_token": user.csrf})
    assert (answer.status_code, answer.headers["location"]) == (303, "/login?signed_out=1")
    assert COOKIE not in http.cookies


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(engine: Engine) -> None:
    http = client(engine)
    admin = sign_in(http, engine, "admin")
    form = {"email": "new@example.com", "role": "staff", "password": "a long enough password"}
    for extra in ({}, {"csrf_token": "wrong"}):
        refused = http.post("/admin/users", data=form | extra)
        assert refused.status_code == 403 and "security token" in refused.text
    assert [u.email for u in users.list_users(engine)] == ["admin@example.com"]
    by_header = http.post("/admin/users", data=form, headers={"X-CSRF-Token": admin.csrf})
    assert by_header.status_code == 303
    assert "new@example.com" in [u.email for u in users.list_users(engine)]


def test_another_sessions_token_does_not_pass(engine: Engine) -> None:
    other = sign_in(client(engine), engine, "admin", "other@example.com")
    http = client(engine)
    sign_in(http, engine, "admin")
    form = {"email": "x@example.com", "role": "viewer", "password": "a long enough password"}
    assert http.post("/admin/users", data=form | {"csrf_token": other.csrf}).status_code == 403


def test_a_viewer_sees_no_write_action_and_its_posts_are_refused(engine: Engine) -> None:
    app = create_app(engine, ManualClock(START))
    probe = APIRouter(include_in_schema=False)

    @probe.post("/probe-write")
    def write(user: WebUser = staff) -> dict[str, str]:
        return {"wrote": user.email}

    app.include_router(probe)
    http = TestClient(app, follow_redirects=False)
    viewer = sign_in(http, engine, "viewer")
    home = http.get("/").text
    assert re.findall(r'<form[^>]*method="post"[^>]*action="([^"]+)"', home) == ["/logout"]
    assert http.get("/admin/users").status_code == 403
    form = {"email": "v@example.com", "role": "admin", "password": "a long enough password"}
    assert http.post("/admin/users", data=form | {"csrf_token": viewer.csrf}).status_code == 403
    assert http.post("/probe-write", data={"csrf_token": viewer.csrf}).status_code == 403
    assert [u.email for u in users.list_users(engine)] == ["viewer@example.com"]
    worker = sign_in(http, engine, "staff")
    assert http.post("/probe-write", data={"csrf_token": worker.csrf}).json() == {
        "wrote": "staff@example.com"
    }


def test_a_disabled_users_next_request_is_signed_out(engine: Engine) -> None:
    http = client(engine)
    sign_in(http, engine, "staff")
    assert signed_in_as(http) == "staff@example.com"
    users.disable_user(engine, "staff@example.com")
    assert signed_in_as(http) is None
    assert session_rows(engine) == 0
    assert post_login(client(engine), "staff@example.com", PASSWORD).status_code == 401  # type: ignore[attr-defined]


def test_a_role_change_and_a_password_reset_apply_at_the_next_request(engine: Engine) -> None:
    http = client(engine)
    sign_in(http, engine, "admin", "boss@example.com")
    assert http.get("/admin/users").status_code == 200
    users.change_role(engine, "boss@example.com", "viewer")
    assert http.get("/admin/users").status_code == 403
    users.reset_password(engine, "boss@example.com", "a brand new password")
    assert signed_in_as(http) is None


def test_a_session_ends_after_12_hours_idle(engine: Engine) -> None:
    clock = ManualClock(START)
    http = client(engine, clock)
    sign_in(http, engine, "staff")
    clock.advance(timedelta(hours=11, minutes=59))
    assert signed_in_as(http) == "staff@example.com"  # the request counts as activity
    clock.advance(timedelta(hours=11, minutes=59))
    assert signed_in_as(http) == "staff@example.com"
    clock.advance(timedelta(hours=12, seconds=1))
    assert signed_in_as(http) is None


def test_sessions_left_behind_are_forgotten_at_the_next_sign_in(engine: Engine) -> None:
    clock = ManualClock(START)
    sign_in(client(engine, clock), engine, "staff")
    sign_in(client(engine, clock), engine, "staff")
    assert session_rows(engine) == 2
    clock.advance(timedelta(hours=12))
    sign_in(client(engine, clock), engine, "staff")  # the two idle ones are never presented
    assert session_rows(engine) == 1


def test_a_session_ends_7_days_after_sign_in_however_active(engine: Engine) -> None:
    clock = ManualClock(START)
    http = client(engine, clock)
    sign_in(http, engine, "staff")
    for _ in range(27):  # every 6 hours, up to 6 days 18 hours
        clock.advance(timedelta(hours=6))
        assert signed_in_as(http) == "staff@example.com"
    clock.advance(timedelta(hours=6))  # 7 days
    assert signed_in_as(http) is None


def test_a_session_whose_expiry_was_set_past_is_signed_out(engine: Engine) -> None:
    http = client(engine)
    sign_in(http, engine, "admin")
    with engine.begin() as conn:
        conn.execute(sessions_table.update().values(expires_at=START - timedelta(seconds=1)))
    assert signed_in_as(http) is None


def test_passwords_are_kept_as_argon2id_hashes_only(engine: Engine) -> None:
    users.create_user(engine, "hash@example.com", "viewer", "the password is long")
    with engine.connect() as conn:
        (stored,) = conn.execute(select(users_table.c.password_hash)).scalars()
    assert stored.startswith("$argon2id$")
    assert "the password is long" not in stored
