"""`orderhub users create|list|disable|reset-password`: the accounts that sign in to the web
UI, on SQLite and PostgreSQL; clear errors for an unknown or taken e-mail and a short password."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner, Result

from orderhub.cli.common import console
from orderhub.cli.main import app as cli
from orderhub.services import users, web_sessions
from orderhub.services.users import WrongPassword
from orderhub.settings import get_settings
from orderhub.store.users import users as users_table
from web_support import PASSWORD, user_of

NEW = "a new password, long"


@pytest.fixture(autouse=True)
def configured(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ORDERHUB_DATABASE_URL", database_url)
    monkeypatch.setattr(console, "_width", 200)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input)


def test_create_from_stdin_then_sign_in_and_list(engine: Engine) -> None:
    made = run("users", "create", "Ana@Example.com", "--role", "staff", "--password-stdin",
               input=PASSWORD + "\n")  # fmt: skip
    assert made.exit_code == 0, made.output
    assert "created user ana@example.com (staff)" in made.output
    signed = users.authenticate(engine, "ana@example.com", PASSWORD, "127.0.0.1")
    assert (signed.email, signed.role) == ("ana@example.com", "staff")
    with engine.connect() as conn:
        (stored,) = conn.execute(select(users_table.c.password_hash)).scalars()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    listed = run("users", "list")
    assert listed.exit_code == 0 and "ana@example.com" in listed.output
    assert "staff" in listed.output and PASSWORD not in listed.output


def test_create_prompts_twice_and_asks_again_when_they_differ(engine: Engine) -> None:
    typed = f"{PASSWORD}\nsomething else\n{PASSWORD}\n{PASSWORD}\n"
    made = run("users", "create", "bo@example.com", "--role", "viewer", input=typed)
    assert made.exit_code == 0, made.output
    assert "do not match" in made.output and PASSWORD not in made.output
    assert users.authenticate(engine, "bo@example.com", PASSWORD, "127.0.0.1").role == "viewer"


@pytest.mark.parametrize(
    ("args", "stdin", "code", "says"),
    [
        (("create", "cy@example.com", "--role", "staff", "--password-stdin"), "short\n", 2,
         "password: expected at least 12 characters"),
        (("create", "taken@example.com", "--role", "staff", "--password-stdin"), PASSWORD, 2,
         "a user with the e-mail 'taken@example.com' exists"),
        (("create", "cy@example.com", "--role", "owner", "--password-stdin"), PASSWORD, 2,
         "role: expected admin or staff or viewer"),
        (("create", "not an e-mail", "--role", "staff", "--password-stdin"), PASSWORD, 2,
         "email: expected an e-mail address"),
        (("disable", "nobody@example.com"), None, 1,
         "there is no user with the e-mail 'nobody@example.com'"),
        (("reset-password", "nobody@example.com", "--password-stdin"), NEW, 1,
         "there is no user with the e-mail 'nobody@example.com'"),
        (("reset-password", "taken@example.com", "--password-stdin"), "short", 2,
         "password: expected at least 12 characters"),
    ],
)  # fmt: skip
def test_errors_say_what_is_wrong_and_change_nothing(
    engine: Engine, args: tuple[str, ...], stdin: str | None, code: int, says: str
) -> None:
    user_of(engine, "admin", "taken@example.com")
    before = users.list_users(engine)
    failed = run("users", *args, input=stdin)
    assert failed.exit_code == code, failed.output
    assert f"error: {says}" in failed.output
    assert users.list_users(engine) == before
    assert users.authenticate(engine, "taken@example.com", PASSWORD, "127.0.0.1")


def test_disable_ends_the_sessions_and_sign_in(engine: Engine) -> None:
    user = user_of(engine, "staff", "dee@example.com")
    opened = web_sessions.open_session(engine, user)
    done = run("users", "disable", "DEE@example.com")
    assert done.exit_code == 0, done.output
    assert web_sessions.resolve(engine, opened.cookie) is None
    with pytest.raises(WrongPassword):
        users.authenticate(engine, "dee@example.com", PASSWORD, "127.0.0.1")
    assert users.get_user(engine, "dee@example.com").disabled


def test_reset_password_replaces_it_and_ends_the_sessions(engine: Engine) -> None:
    user = user_of(engine, "admin", "eve@example.com")
    opened = web_sessions.open_session(engine, user)
    done = run("users", "reset-password", "eve@example.com", input=f"{NEW}\n{NEW}\n")
    assert done.exit_code == 0, done.output
    assert web_sessions.resolve(engine, opened.cookie) is None
    with pytest.raises(WrongPassword):
        users.authenticate(engine, "eve@example.com", PASSWORD, "127.0.0.1")
    assert users.authenticate(engine, "eve@example.com", NEW, "127.0.0.1").email == user.email


def test_the_demo_admin_is_made_once_and_gets_a_new_password_each_run(engine: Engine) -> None:
    from orderhub.cli.demo import DEMO_ADMIN, _demo_admin, _print_dashboard

    first = _demo_admin(engine)
    assert users.authenticate(engine, DEMO_ADMIN, first, "127.0.0.1").role == "admin"
    users.disable_user(engine, DEMO_ADMIN)
    second = _demo_admin(engine)
    assert second != first
    assert users.authenticate(engine, DEMO_ADMIN, second, "127.0.0.1").role == "admin"
    assert [u.email for u in users.list_users(engine)] == [DEMO_ADMIN]
    with console.capture() as printed:
        _print_dashboard(8000, second)
    assert "http://127.0.0.1:8000/" in printed.get()
    assert DEMO_ADMIN in printed.get() and second in printed.get()
