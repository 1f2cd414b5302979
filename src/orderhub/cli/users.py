"""`orderhub users ...`: the staff accounts of the web UI (docs/web-accounts.md)."""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from orderhub.cli.common import console, engine_from_settings, migrated_engine
from orderhub.services import users as service
from orderhub.store import upgrade

app = typer.Typer(
    help="Staff accounts: who signs in to the web UI, and with which role.",
    no_args_is_help=True,
)

_STDIN_HELP = "Read the password from the first line of standard input (no prompt)."


def _password(from_stdin: bool) -> str:
    """The password from stdin's first line, or typed twice at a hidden prompt."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    typed: str = typer.prompt(
        f"Password (at least {service.MIN_PASSWORD} characters)",
        hide_input=True,
        confirmation_prompt=True,
    )
    return typed


@app.command("create")
def create_command(
    email: str = typer.Argument(..., help="The user's e-mail: what they sign in with."),
    role: str = typer.Option(
        ..., "--role", help="admin (everything), staff (changes orders) or viewer (looks only)."
    ),
    password_stdin: bool = typer.Option(False, "--password-stdin", help=_STDIN_HELP),
) -> None:
    """Create a user who can sign in to the web UI."""
    email, role = service.normal_email(email), service.check_role(role)
    password = service.check_password(_password(password_stdin))
    engine = engine_from_settings()
    upgrade(engine)
    user = service.create_user(engine, email, role, password)
    console.print(f"created user {user.email} ({user.role}); they sign in at /login")


@app.command("list")
def list_command() -> None:
    """Every user, disabled ones too (never a password)."""
    table = Table("e-mail", "role", "created", "password set", "disabled")
    for user in service.list_users(migrated_engine()):
        table.add_row(
            user.email,
            user.role,
            user.created_at.strftime("%Y-%m-%d %H:%M UTC"),
            user.password_changed_at.strftime("%Y-%m-%d %H:%M UTC"),
            user.disabled_at.strftime("%Y-%m-%d %H:%M UTC") if user.disabled_at else "",
        )
    console.print(table)


@app.command("disable")
def disable_command(email: str = typer.Argument(..., help="The user's e-mail.")) -> None:
    """Disable a user: they cannot sign in, and their sessions end at their next request."""
    user = service.disable_user(migrated_engine(), email)
    console.print(f"disabled {user.email}; their sessions have ended")


@app.command("reset-password")
def reset_password_command(
    email: str = typer.Argument(..., help="The user's e-mail."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help=_STDIN_HELP),
) -> None:
    """Set a new password for a user (their sessions end)."""
    engine = migrated_engine()
    service.get_user(engine, email)  # an unknown e-mail is said before the prompt
    user = service.reset_password(engine, email, _password(password_stdin))
    console.print(f"set a new password for {user.email}; their sessions have ended")
