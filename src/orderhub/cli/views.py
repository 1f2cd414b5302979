"""`orderhub views ...`: the saved views of /v1/views, through the same service."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from orderhub.cli.common import console, migrated_engine
from orderhub.services import views as service

app = typer.Typer(
    help="Saved views: names for list queries, used as ?view=NAME (docs/views.md).",
    no_args_is_help=True,
)


@app.command("list")
def list_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Every saved view, by name, with its query."""
    found = service.list_views(migrated_engine())
    if as_json:
        rows = [{"name": v.name, "query": v.query, "updated_at": v.updated_at.isoformat()}
                for v in found]  # fmt: skip
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("name", "query", "updated")
    for view in found:
        table.add_row(view.name, view.query, view.updated_at.strftime("%Y-%m-%d %H:%M UTC"))
    console.print(table)


@app.command("create")
def create_command(
    name: str = typer.Argument(..., help="A unique name (letters, digits, _ . -)."),
    query: str = typer.Argument(..., help="The list's query string, e.g. status=open&q=novak."),
    replace: bool = typer.Option(False, "--replace", help="Change the view if it exists."),
) -> None:
    """Save a view (checked as the list checks its query: a bad one changes nothing)."""
    engine = migrated_engine()
    if replace and any(v.name == name for v in service.list_views(engine)):
        service.replace_view(engine, name, query)
        console.print(f"changed view {name}")
        return
    service.create_view(engine, name, query)
    console.print(f"saved view {name}: GET /v1/orders?view={name}")


@app.command("delete")
def delete_command(name: str = typer.Argument(..., help="The view's name.")) -> None:
    """Delete a view (lists asking for it are then refused, naming `view`)."""
    service.delete_view(migrated_engine(), name)
    console.print(f"deleted view {name}")
