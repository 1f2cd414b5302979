"""The root command and its groups."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from orderhub.cli import keys as keys_cli
from orderhub.cli import mail as mail_cli
from orderhub.cli import orders as orders_cli
from orderhub.cli import (  # noqa: F401  (`orders bulk`, `export`, `ship`, `tag` ...)
    orders_bulk,
    orders_export,
    orders_lines,
    orders_tags,
)
from orderhub.cli import sandbox as sandbox_cli
from orderhub.cli import secrets as secrets_cli
from orderhub.cli import sync as sync_cli
from orderhub.cli import users as users_cli
from orderhub.cli import views as views_cli
from orderhub.cli import webhooks as webhooks_cli
from orderhub.cli.common import console, engine_from_settings
from orderhub.cli.demo import demo as demo_command
from orderhub.cli.errors import ReportingGroup
from orderhub.cli.run import run as run_command
from orderhub.cli.serving import (
    ServerOptions,
    fail,
    server_command,
)
from orderhub.cli.worker import worker as worker_command
from orderhub.services.backup import backup_sqlite
from orderhub.services.generate import write_orders
from orderhub.settings import get_settings
from orderhub.store import refresh_statistics, upgrade

app = typer.Typer(
    cls=ReportingGroup,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain help (as every sub-command inherits): Typer's rich help shows `<bool>` beside
    # every flag and takes `[modifier:]` in a help text for markup.
    rich_markup_mode=None,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(orders_cli.app, name="orders")
app.add_typer(sandbox_cli.app, name="sandbox")
app.add_typer(keys_cli.app, name="keys")
app.add_typer(sync_cli.channels_app, name="channels")
app.add_typer(sync_cli.quarantine_app, name="quarantine")
app.command("sync")(sync_cli.sync)
app.add_typer(mail_cli.app, name="mail")
app.add_typer(webhooks_cli.app, name="webhooks")
app.add_typer(secrets_cli.app, name="secrets")
app.add_typer(views_cli.app, name="views")
app.add_typer(users_cli.app, name="users")
app.command("worker")(worker_command)
app.command("demo")(demo_command)
app.command("run")(run_command)


@app.callback()
def root(
    debug: bool = typer.Option(
        False,
        "--debug",
        envvar="ORDERHUB_DEBUG",
        help="On an error, show its traceback instead of one line.",
    ),
) -> None:
    """orderhub: every sales channel's orders in one store and one API.

    Exit codes: 0 done, 1 failed, 2 usage or configuration, 3 port in use, 4 database
    unreachable or not migrated, 5 a channel refused the credentials (docs/operations.md).
    """
    ReportingGroup.debug = debug


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the newest schema."""
    engine = engine_from_settings()
    upgrade(engine)
    console.print(f"[green]database is up to date[/] ({engine.url.render_as_string()})")


@db_app.command("backup")
def db_backup(
    path: Path = typer.Argument(..., help="The copy to write (a new file)."),
    force: bool = typer.Option(False, "--force", help="Replace PATH if it exists."),
) -> None:
    """Copy the SQLite database while it runs (SQLite's online backup); PostgreSQL: pg_dump."""
    done = backup_sqlite(get_settings().database_url, path, force=force)
    console.print(f"backed up {done.orders:,} orders ({done.size:,} bytes) to {done.path}")


@app.command()
def generate(
    orders: int = typer.Option(10_000, "--orders", "-n", min=1, help="How many orders."),
    seed: int = typer.Option(1, "--seed", "-s", help="Same seed, same orders."),
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="Producer processes (default: 1 on SQLite, else one a CPU)."
    ),
) -> None:
    """Write realistic sample orders (all channel types, several accounts and currencies)."""
    engine = engine_from_settings()
    upgrade(engine)
    columns = (
        TextColumn("[bold]generating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>8.0f} orders/s"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("orders", total=orders, rate=0.0)

        def advance(done: int) -> None:
            progress.advance(task, done)
            elapsed = progress.tasks[0].elapsed or 1e-9
            progress.update(task, rate=progress.tasks[0].completed / elapsed)

        write_orders(engine, orders, seed, advance, workers=workers)
        elapsed = progress.tasks[0].elapsed or 1e-9
    console.print(f"wrote {orders:,} orders in {elapsed:.1f} s ({orders / elapsed:,.0f} orders/s)")
    with console.status("refreshing the query planner's statistics"):
        refresh_statistics(engine)


@app.command()
@server_command
def serve(options: ServerOptions) -> None:
    """Serve the HTTP API (Ctrl-C or SIGTERM stops it)."""
    # uvicorn shuts down gracefully, then the command returns: exit 0
    started = options.start()
    if started is None:
        return  # stopped while migrating
    signals, server = started
    if not server.run() and not signals.received:
        raise fail("the server did not start (see the log above)")


def main() -> None:
    app()
