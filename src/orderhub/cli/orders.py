"""`orderhub orders ...`: the query language from the command line."""

from __future__ import annotations

import typer
from rich.table import Table

from orderhub.api.render import full_order, page_envelope, to_json
from orderhub.cli.common import console, engine_from_settings
from orderhub.domain import InvalidInput
from orderhub.domain.jsonfmt import money_text
from orderhub.query import parse_query
from orderhub.services.orders import list_orders

app = typer.Typer(help="Read orders.", no_args_is_help=True)

_COLUMNS = (
    "id",
    "channel",
    "external_id",
    "status",
    "payment_status",
    "total",
    "currency",
    "customer",
    "created_at",
)


@app.command("list")
def list_command(
    filters: list[str] = typer.Option(
        [], "--filter", "-f", help="field=[modifier:]value; repeatable."
    ),
    sort: str | None = typer.Option(None, "--sort", help="field:asc,other:desc"),
    page: int = typer.Option(1, "--page", min=1),
    page_size: int = typer.Option(20, "--page-size", min=1, max=1000),
    as_json: bool = typer.Option(False, "--json", help="Print the API's JSON envelope."),
) -> None:
    """List orders with the same query language as GET /v1/orders."""
    params = [_split(item) for item in filters]
    if sort:
        params.append(("_sort", sort))
    params += [("page", str(page)), ("page_size", str(page_size))]
    try:
        query = parse_query(params)
    except InvalidInput as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    result = list_orders(engine_from_settings(), query)
    if as_json:
        items = [full_order(row, parse_nested=True) for row in result.rows]
        typer.echo(to_json(page_envelope(query, result, items)).decode())
        return
    table = Table(*_COLUMNS, title=f"{result.total:,} orders, page {result.page} of {result.pages}")
    for row in result.rows:
        table.add_row(*(_cell(row[name]) for name in _COLUMNS))
    console.print(table)


def _split(item: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    if not sep:
        console.print(f"[red]error:[/] --filter {item!r}: expected field=[modifier:]value")
        raise typer.Exit(2)
    return name, value


def _cell(value: object) -> str:
    from datetime import datetime
    from decimal import Decimal

    if value is None:
        return ""
    if isinstance(value, Decimal):
        return money_text(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)
