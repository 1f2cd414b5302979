"""`orderhub orders ...`: read and change orders through the same services as the API.

Changes made here are recorded with the actor `cli:<os user>` (see `cli_actor`), where the API
records the key's name.
"""

from __future__ import annotations

import getpass
import shlex
from collections.abc import Iterator

import typer
from rich.markup import escape
from rich.progress import track
from rich.table import Table
from sqlalchemy import Engine

from orderhub.api.orders import parse_id
from orderhub.api.render import Format, full_order, page_envelope, page_items, render, to_json
from orderhub.cli.common import console, migrated_engine
from orderhub.cli.errors import EXIT_FAILED
from orderhub.cli.order_view import cell, order_view, text
from orderhub.domain import InvalidInput, OrderhubError
from orderhub.query import OrderQuery, parse_query
from orderhub.services.orders import get_order, list_orders
from orderhub.services.update_request import parse_update
from orderhub.services.updates import UpdateResult, update_order
from orderhub.store import OrderPage

app = typer.Typer(help="Read and change orders.", no_args_is_help=True)

#: Page size of a walk over every page (--all, confirm --filter): the API's maximum.
WALK_PAGE_SIZE = 1000
_ACTOR_LENGTH = 64  # the history's actor column

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


def cli_actor() -> str:
    """Who made a change from the command line, as history and webhooks show it."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name (a container's bare uid)
        user = "unknown"
    return f"cli:{user}"[:_ACTOR_LENGTH]


def _order_id(raw: str) -> int:
    return parse_id("ID", raw)


@app.command("list")
def list_command(
    filters: list[str] = typer.Option(
        [], "--filter", "-f", help="field=value or field=modifier:value; repeatable."
    ),
    sort: str | None = typer.Option(None, "--sort", help="field:asc,other:desc"),
    page: int | None = typer.Option(None, "--page", min=1, help="Page number (default 1)."),
    page_size: int | None = typer.Option(
        None, "--page-size", min=1, max=1000, help=f"Default 20, or {WALK_PAGE_SIZE} with --all."
    ),
    cursor: str | None = typer.Option(
        None, "--cursor", help="The next page of the same query (printed under each page)."
    ),
    walk_all: bool = typer.Option(
        False, "--all", help="Walk every page (with --json: one order per line)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the API's JSON envelope."),
) -> None:
    """List orders with the same query language as GET /v1/orders."""
    params = [split_filter(item) for item in filters]
    if sort:
        params.append(("_sort", sort))
    size = page_size or (WALK_PAGE_SIZE if walk_all else 20)
    engine = migrated_engine()
    if walk_all:
        if page is not None or cursor:
            raise InvalidInput("--all", "no --page or --cursor with it: it walks from the first")
        _print_every_page(engine, params, size, as_json)
        return
    paging = [("page", str(page))] if page is not None else []
    paging += [("cursor", cursor)] if cursor else []
    query = _parse([*params, ("page_size", str(size)), *paging])
    result = list_orders(engine, query)
    items = page_items(query, result, ids_only=False, fmt=Format.JSON)  # as GET /v1/orders
    envelope = page_envelope(query, result, items)
    if as_json:
        typer.echo(to_json(envelope).decode())
        return
    title = f"{result.total:,} orders, page {result.page} of {result.pages}"
    console.print(_table(result, title))
    _print_next_hint(filters, sort, page_size, envelope["paging"]["cursor"])


def _print_every_page(
    engine: Engine, params: list[tuple[str, str]], size: int, as_json: bool
) -> None:
    table = None
    for result in walk_pages(engine, params, size):
        if as_json:
            for row in result.rows:
                typer.echo(to_json(full_order(row)).decode())
            continue
        if table is None:
            table = _table(result, f"{result.total:,} orders, every page")
        else:
            for row in result.rows:
                table.add_row(*(cell(row[name]) for name in _COLUMNS))
    if table is not None:
        console.print(table)


def walk_pages(engine: Engine, params: list[tuple[str, str]], size: int) -> Iterator[OrderPage]:
    """Every page of a query, following the cursor (as a client follows `Link: rel=next`)."""
    cursor: str | None = None
    while True:
        query = _parse(
            [*params, ("page_size", str(size)), *([("cursor", cursor)] if cursor else [])]
        )
        result = list_orders(engine, query)
        yield result
        cursor = page_envelope(query, result, [])["paging"]["cursor"]
        if cursor is None:
            return


def _table(result: OrderPage, title: str) -> Table:
    table = Table(*_COLUMNS, title=title)
    for row in result.rows:
        table.add_row(*(cell(row[name]) for name in _COLUMNS))
    return table


def _print_next_hint(
    filters: list[str], sort: str | None, page_size: int | None, cursor: str | None
) -> None:
    if cursor is None:
        return
    words = ["orderhub", "orders", "list"]
    words += [word for item in filters for word in ("--filter", item)]
    words += ["--sort", sort] if sort else []
    words += ["--page-size", str(page_size)] if page_size else []
    console.print(
        f"next page: {shlex.join([*words, '--cursor', cursor])}  (or --all for every page)",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )


def _parse(params: list[tuple[str, str]]) -> OrderQuery:
    return parse_query(params)


def split_filter(item: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    if not sep:
        raise InvalidInput("--filter", "field=[modifier:]value", item)
    return name, value


@app.command("get")
def get_command(
    order_id: str = typer.Argument(..., metavar="ID", help="The order's id."),
    as_json: bool = typer.Option(False, "--json", help="The API's JSON (GET /v1/orders/ID)."),
    as_xml: bool = typer.Option(False, "--xml", help="The API's XML (GET /v1/orders/ID.xml)."),
) -> None:
    """Show one order: readable, or exactly the document the API answers."""
    if as_json and as_xml:
        raise InvalidInput("--json/--xml", "one of them, not both")
    number = _order_id(order_id)
    order = get_order(migrated_engine(), number)
    if as_json or as_xml:
        fmt = Format.XML if as_xml else Format.JSON
        body, _ = render(full_order(order, parse_nested=fmt is Format.XML), fmt, root="order")
        typer.echo(body.decode())
        return
    console.print(order_view(order))


@app.command("update")
def update_command(
    order_id: str = typer.Argument(..., metavar="ID", help="The order's id."),
    status: str | None = typer.Option(None, "--status", help="The next status."),
    tracking_number: str | None = typer.Option(None, "--tracking-number"),
    tracking_url: str | None = typer.Option(None, "--tracking-url"),
    carrier: str | None = typer.Option(None, "--carrier"),
    delivered_at: str | None = typer.Option(
        None, "--delivered-at", help="2024-05-01T14:30:00Z (needed to enter `delivered`)."
    ),
    vendor_ref: str | None = typer.Option(None, "--vendor-ref", help="Your own reference."),
    notify: bool = typer.Option(False, "--notify", help="E-mail the customer (status changes)."),
) -> None:
    """Change an order as PUT /v1/orders/ID does: same checks, push-back, e-mail and webhooks."""
    number = _order_id(order_id)
    given = {
        "status": status,
        "tracking_number": tracking_number,
        "tracking_url": tracking_url,
        "carrier": carrier,
        "delivered_at": delivered_at,
        "vendor_ref": vendor_ref,
    }
    body: dict[str, object] = {name: value for name, value in given.items() if value is not None}
    if notify:
        body["notify_user"] = True
    # A refused transition leaves through cli/errors.py, naming the allowed next statuses.
    result = update_order(migrated_engine(), number, parse_update(body), cli_actor())
    print_update(number, result)


def print_update(number: int, result: UpdateResult) -> None:
    """What a change did, one line per field, then the version (and the e-mail's fate)."""
    if not result.changes:
        console.print(f"order {number}: nothing to change (version {result.order.version})")
    for change in result.changes:
        console.print(
            f"order {number}: {change.field} {text(change.old) or '(none)'} -> {text(change.new)}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    if result.changes:
        console.print(f"order {number} is now at version {result.order.version}")
    if result.notification is not None:
        note = result.notification
        console.print(
            f"customer e-mail: queued ({note.by})"
            if note.queued
            else f"customer e-mail: not sent ({note.reason})"
        )


@app.command("confirm")
def confirm_command(
    order_ids: list[str] = typer.Argument(None, metavar="ID", help="Orders to confirm."),
    filters: list[str] = typer.Option(
        [],
        "--filter",
        "-f",
        help="Instead of ids: every order matching field=value or field=modifier:value (as "
        "GET /v1/orders: pending and test orders only when the filter names status or test).",
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask before confirming."),
) -> None:
    """Acknowledge orders (confirmed=true), each as PUT /v1/orders/ID would."""
    if bool(order_ids) == bool(filters):
        raise InvalidInput("ID/--filter", "order ids or --filter, one of the two")
    engine = migrated_engine()
    found = [_order_id(raw) for raw in order_ids] if order_ids else _matching_ids(engine, filters)
    ids = list(dict.fromkeys(found))
    if not ids:
        console.print("no order matches: nothing to confirm")
        return
    console.print(f"{len(ids):,} order(s) to confirm")
    if not yes and not agreed("Confirm them?"):
        console.print("nothing changed")
        raise typer.Exit(EXIT_FAILED)
    _confirm_each(engine, ids)


def agreed(question: str) -> bool:
    try:
        return typer.confirm(question, default=False)
    except typer.Abort:  # end of input, or Ctrl-C at the prompt
        console.print()
        return False


def _matching_ids(engine: Engine, filters: list[str]) -> list[int]:
    params = [split_filter(item) for item in filters]
    return [row["id"] for page in walk_pages(engine, params, WALK_PAGE_SIZE) for row in page.rows]


def _confirm_each(engine: Engine, ids: list[int]) -> None:
    done = already = 0
    refused: list[str] = []
    confirm = parse_update({"confirmed": True})
    actor = cli_actor()
    shown = (
        track(ids, "confirming", console=console, transient=True) if console.is_terminal else ids
    )
    for number in shown:
        try:
            result = update_order(engine, number, confirm, actor)
        except OrderhubError as exc:
            refused.append(f"order {number}: {exc}")
            continue
        if result.changes:
            done += 1
        else:
            already += 1
    for line in refused:
        console.print(f"[red]refused[/] {escape(line)}", soft_wrap=True, highlight=False)
    console.print(f"confirmed {done:,}, already confirmed {already:,}, refused {len(refused):,}")
    if refused:
        raise typer.Exit(EXIT_FAILED)
