"""The root command and its groups."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from orderhub.cli.common import console, engine_from_settings
from orderhub.cli.errors import ReportingGroup
from orderhub.cli.lazy import LazyCommand, LazyGroup
from orderhub.settings import get_settings
from orderhub.store import refresh_statistics, upgrade


class RootGroup(LazyGroup):
    """`orderhub`: a command's module is imported when it runs (`orderhub sync` does not
    import the web app); help lists them all, in this order."""

    lazy = {
        "sync": LazyCommand("orderhub.cli.sync:sync"),
        "worker": LazyCommand("orderhub.cli.worker:worker"),
        "demo": LazyCommand("orderhub.cli.demo:demo"),
        "run": LazyCommand("orderhub.cli.run:run"),
        "serve": LazyCommand("orderhub.cli.serve:serve"),
        "orders": LazyCommand(
            "orderhub.cli.orders:app",
            # `orders bulk`, `export`, `ship`, `tag` ...: each adds its commands to `orders`
            extras=tuple(
                f"orderhub.cli.orders_{part}" for part in ("bulk", "export", "lines", "tags")
            ),
        ),
        "sandbox": LazyCommand("orderhub.cli.sandbox:app"),
        "keys": LazyCommand("orderhub.cli.keys:app"),
        "channels": LazyCommand("orderhub.cli.sync:channels_app"),
        "quarantine": LazyCommand("orderhub.cli.sync:quarantine_app"),
        "mail": LazyCommand("orderhub.cli.mail:app"),
        "webhooks": LazyCommand("orderhub.cli.webhooks:app"),
        "secrets": LazyCommand("orderhub.cli.secrets:app"),
        "views": LazyCommand("orderhub.cli.views:app"),
        "users": LazyCommand("orderhub.cli.users:app"),
    }
    order = (
        *("sync", "worker", "demo", "run", "generate", "serve", "db", "orders", "sandbox"),
        *("keys", "channels", "quarantine", "mail", "webhooks", "secrets", "views", "users"),
    )


app = typer.Typer(
    cls=RootGroup,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain help (as every sub-command inherits): Typer's rich help shows `<bool>` beside
    # every flag and takes `[modifier:]` in a help text for markup.
    rich_markup_mode=None,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


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
    from orderhub.services.backup import backup_sqlite

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
    from orderhub.services.generate import write_orders

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


def main() -> None:
    app()
