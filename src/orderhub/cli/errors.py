"""One line and a documented exit code for every error a person can fix (docs/operations.md).

Every command runs inside `ReportingGroup.invoke`, so an exception leaving a command becomes
`error: ...` on stderr and the exit code of its class; `orderhub --debug ...` (or
ORDERHUB_DEBUG=1) lets it through with its traceback instead. Whatever is not known here is a
bug: "unexpected error: ..." and exit 1.
"""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.text import Text
from sqlalchemy.exc import InterfaceError, OperationalError

from orderhub.cli.ports import PortUnavailable
from orderhub.domain import Conflict, InvalidInput, OrderhubError
from orderhub.services.channels import ConfigError
from orderhub.settings import SettingsError
from orderhub.store.engine import DatabaseUnavailable, DatabaseUrlInvalid

#: Exit codes (docs/operations.md, "Exit codes").
EXIT_FAILED = 1
EXIT_USAGE = 2
# 3: the port cannot be listened on (cli/ports.py, PortUnavailable.exit_code)
EXIT_DATABASE = 4
EXIT_CHANNEL_REFUSED = 5

err_console = Console(stderr=True, highlight=False, soft_wrap=True)


class CliError(Exception):
    """A command's own failure: its message is the whole story."""

    exit_code = EXIT_FAILED


class UsageError(CliError):
    exit_code = EXIT_USAGE


class ChannelRefused(CliError):
    exit_code = EXIT_CHANNEL_REFUSED


def explain(exc: Exception) -> tuple[str, int]:
    """The line to print (without `error: `) and the exit code for an exception."""
    if isinstance(exc, (CliError, PortUnavailable)):
        return str(exc), exc.exit_code
    if isinstance(exc, DatabaseUrlInvalid):
        return f"ORDERHUB_DATABASE_URL: {exc}", EXIT_DATABASE
    if isinstance(exc, DatabaseUnavailable):
        return str(exc), EXIT_DATABASE
    if isinstance(exc, (OperationalError, InterfaceError)):
        return f"the database failed: {_first_line(exc.orig or exc)}", EXIT_DATABASE
    if isinstance(exc, (ConfigError, SettingsError, InvalidInput, Conflict)):
        return str(exc), EXIT_USAGE
    if isinstance(exc, OrderhubError):
        return str(exc), EXIT_FAILED
    detail = _first_line(exc)
    what = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return f"unexpected error: {what} (run with --debug for the traceback)", EXIT_FAILED


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0].strip() if lines else ""


class ReportingGroup(typer.core.TyperGroup):
    """The root group: runs the command and turns what escapes it into one line."""

    debug = False

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.TyperException, typer.Exit, typer.Abort):
            raise
        except Exception as exc:
            if ReportingGroup.debug:
                raise
            message, code = explain(exc)
            err_console.print(Text.assemble(("error:", "bold red"), " ", message))
            raise typer.Exit(code) from None
